"""The undo journal restores every byte, and refuses to clobber later changes."""

from __future__ import annotations

from pathlib import Path

from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal

from tests.tools.conftest import MakeToolbox, snapshot


def test_undo_mixed_sequence_restores_every_byte(repo: Path, make_toolbox: MakeToolbox) -> None:
    (repo / "wide.txt").write_bytes("\ufeffhé\r\nwörld\r\n".encode("utf-16-le"))
    (repo / "bom.txt").write_bytes(b"\xef\xbb\xbfone\r\ntwo")  # no final newline
    (repo / "mixed.txt").write_bytes(b"a\r\nb\nc\r")
    (repo / "tool.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (repo / "tool.sh").chmod(0o755)
    before = snapshot(repo)
    box = make_toolbox()
    for rel in ("wide.txt", "bom.txt", "mixed.txt", "tool.sh", "docs/guide.txt", "src/app.py"):
        assert box.call("read_file", {"path": rel}).ok
    calls = [
        ("edit_file", {"path": "wide.txt", "old_text": "wörld", "new_text": "welt\nzwei"}),
        ("edit_file", {"path": "bom.txt", "old_text": "two", "new_text": "three"}),
        ("write_file", {"path": "bom.txt", "content": "rewritten\nfully\n"}),
        ("edit_file", {"path": "mixed.txt", "old_text": "b\n", "new_text": "B\nBB\n"}),
        ("edit_file", {"path": "tool.sh", "old_text": "hi", "new_text": "bye"}),
        ("write_file", {"path": "docs/guide.txt", "content": "short"}),
        ("write_file", {"path": "new/deep/dir/file.py", "content": "x = 1\n"}),
        ("edit_file", {"path": "new/deep/dir/file.py", "old_text": "x = 1", "new_text": "x = 2"}),
        ("write_file", {"path": "top.txt", "content": "t"}),
        ("edit_file", {"path": "src/app.py", "old_text": "return 0", "new_text": "return 1"}),
    ]
    for name, args in calls:
        result = box.call(name, args)
        assert result.ok, (name, args, result.text)
    assert snapshot(repo) != before
    assert len(box.journal) == len(calls)
    # Undo in two steps, through a fresh journal object (as `assistant undo` would).
    assert all(o.reverted for o in box.undo(4))
    later = UndoJournal(repo, box.journal.directory)
    outcomes = later.undo(100)
    assert len(outcomes) == len(calls) - 4 and all(o.reverted for o in outcomes)
    assert snapshot(repo) == before  # bytes, modes, and no leftover directories
    assert later.undo(1) == []


def test_undo_refuses_when_file_changed_since(repo: Path, make_toolbox: MakeToolbox) -> None:
    box = make_toolbox()
    box.call("read_file", {"path": "src/util.py"})
    box.call("write_file", {"path": "notes.txt", "content": "n"})
    box.call("edit_file", {"path": "src/util.py", "old_text": "def helper", "new_text": "def h"})
    (repo / "src/util.py").write_text("user's own work\n")
    outcomes = box.undo(2)
    assert len(outcomes) == 1 and not outcomes[0].reverted
    assert outcomes[0].message.startswith("error: src/util.py: changed since edit_file wrote it")
    assert (repo / "src/util.py").read_text() == "user's own work\n"
    assert (repo / "notes.txt").exists()  # undo stopped; nothing older was touched
    assert len(box.journal) == 2


def test_undo_refuses_deleted_file(repo: Path, make_toolbox: MakeToolbox) -> None:
    box = make_toolbox()
    box.call("read_file", {"path": "README.md"})
    box.call("edit_file", {"path": "README.md", "old_text": "demo", "new_text": "Demo"})
    (repo / "README.md").unlink()
    (outcome,) = box.undo()
    assert not outcome.reverted and "was deleted since edit_file" in outcome.message
    assert not (repo / "README.md").exists()


def test_model_must_reread_after_undo(make_toolbox: MakeToolbox) -> None:
    box = make_toolbox()
    box.call("read_file", {"path": "README.md"})
    box.call("edit_file", {"path": "README.md", "old_text": "demo", "new_text": "Demo"})
    box.undo()
    again = box.call("edit_file", {"path": "README.md", "old_text": "demo", "new_text": "X"})
    assert again.text.startswith("error: you have not read README.md")


def test_sessions_and_latest(repo: Path, tmp_path: Path) -> None:
    base = tmp_path / "data"
    first = UndoJournal.for_session(repo, "s1", base)
    second = UndoJournal.for_session(repo, "s2", base)
    assert first.directory.parent == second.directory.parent
    assert UndoJournal.latest(repo, base) is None
    first.record("write_file", "a.txt", None, b"a", None)
    second.record("write_file", "b.txt", None, b"b", None)
    latest = UndoJournal.latest(repo, base)
    assert latest is not None and latest.directory == second.directory


def test_no_op_changes_are_not_journaled(make_toolbox: MakeToolbox) -> None:
    box = make_toolbox(ApprovalPolicy.AUTO_EDIT)
    box.call("read_file", {"path": "README.md"})
    same = box.call("write_file", {"path": "README.md", "content": "# demo\n\nA small project.\n"})
    assert same.ok and "nothing changed" in same.text
    assert len(box.journal) == 0


def test_empty_journal_is_used_not_replaced(repo: Path, tmp_path: Path) -> None:
    from assistant.tools.registry import Toolbox

    journal = UndoJournal(repo, tmp_path / "given")
    box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, journal)
    assert box.journal is journal
    box.call("write_file", {"path": "n.txt", "content": "n"})
    assert len(UndoJournal(repo, tmp_path / "given")) == 1
