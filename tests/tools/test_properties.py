"""Hypothesis: edit then undo is the identity, and text round-trips byte for byte."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox
from assistant.tools.result import ToolError
from assistant.tools.sandbox import decode_text, encode_text
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.tools.conftest import init_repo

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=300,
)
LINEY = st.lists(
    st.sampled_from(["a", "b", " ", "\t", "\n", "\r\n", "\r", "x = 1", "é", "  if y:", "\ufeff"]),
    max_size=40,
).map("".join)


@pytest.fixture(scope="module")
def prop_repo() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="tools-prop-"))
    try:
        yield init_repo(tmp / "repo", {"seed.txt": "seed\n"})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.one_of(TEXT, LINEY), data=st.data(), new_text=TEXT)
def test_edit_then_undo_is_identity(
    prop_repo: Path, content: str, data: st.DataObject, new_text: str
) -> None:
    original = content.encode("utf-8")
    target = prop_repo / "subject.txt"
    target.write_bytes(original)
    start = data.draw(st.integers(0, len(content)))
    end = data.draw(st.integers(start, len(content)))
    old_text = content[start:end]
    assume(old_text.strip() and content.count(old_text) == 1 and old_text != new_text)
    journal = UndoJournal(prop_repo, prop_repo.parent / "journal")
    box = Toolbox(prop_repo, ApprovalPolicy.AUTO_EDIT, None, journal)
    assert box.call("read_file", {"path": "subject.txt"}).ok
    result = box.call(
        "edit_file", {"path": "subject.txt", "old_text": old_text, "new_text": new_text}
    )
    simple = "\r" not in content and not content.startswith("\ufeff")
    if simple:
        # Plain LF text: the unique exact match is always applied, and only it.
        assert result.ok, result.text
        assert target.read_bytes() == content.replace(old_text, new_text).encode("utf-8")
    else:
        assert result.ok or result.text.startswith("error: ")
    outcomes = box.undo(1)
    if result.ok:
        assert [o.reverted for o in outcomes] == [True]
    assert target.read_bytes() == original
    assert len(journal) == 0


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(content=st.one_of(TEXT, LINEY), bom=st.sampled_from(["", "utf-8", "utf-16-le", "utf-16-be"]))
def test_decode_encode_round_trip(content: str, bom: str) -> None:
    if bom == "":
        data = content.encode("utf-8")
    elif bom == "utf-8":
        data = b"\xef\xbb\xbf" + content.encode("utf-8")
    else:
        data = ("\ufeff" + content).encode(bom)
    try:
        text, fmt = decode_text(data, "f")
    except ToolError:
        return  # refused (e.g. a BOM-less UTF-16 mistaken for binary): never rewritten
    assert encode_text(text, fmt, "f") == data
