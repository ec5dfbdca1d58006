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
from assistant.tools.sandbox import decode_text, encode_text, normalize_input
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
    # The tool edits the text as the model sees it (decoded, consistent line
    # endings shown as LF, the model's own CR/CRLF taken as LF too) and writes
    # it back in the file's own encoding and line endings.
    text, fmt = decode_text(original, "subject.txt")
    old, new = normalize_input(old_text, fmt), normalize_input(new_text, fmt)
    simple = "\r" not in content and not content.startswith("\ufeff")
    if old == new:
        assert result.text == "error: old_text and new_text are the same; nothing to change"
    elif old.strip() and text.count(old) == 1:
        expected = encode_text(text.replace(old, new), fmt, "subject.txt")
        if expected == original:
            assert result.text == "error: the edit would not change the file; nothing to do"
        else:
            assert result.ok, result.text
            assert target.read_bytes() == expected
            if simple:  # plain LF text: exactly the one match replaced, byte for byte
                assert expected == content.replace(old_text, new).encode("utf-8")
    else:
        assert not simple  # a plain LF text's unique match is unique in the model's view
        if result.ok:
            # No unique exact match in the model's view: only a reported
            # fuzzy match may apply.
            assert "note: old_text did not match exactly" in result.text
        else:
            assert result.text.startswith("error: ") and target.read_bytes() == original
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
