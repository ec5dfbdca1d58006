"""Journal groups: the entries of one multi-file change are undone as one."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.tools.journal import UndoJournal

from tests.refactor.conftest import init_repo


def test_one_undo_reverts_a_whole_group_and_nothing_older(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"a.py": "a\n", "b.py": "b\n", "c.py": "c\n"})
    journal = UndoJournal(root, tmp_path / "journal")
    journal.record("edit_file", "c.py", b"c\n", b"C\n", 0o644)
    (root / "c.py").write_bytes(b"C\n")
    group = journal.new_group()
    for name in ("a.py", "b.py"):
        before = (root / name).read_bytes()
        journal.record("rename", name, before, before.upper(), 0o644, group=group)
        (root / name).write_bytes(before.upper())
    outcomes = journal.undo(1)
    assert [o.path for o in outcomes] == ["b.py", "a.py"]
    assert all(o.reverted for o in outcomes)
    assert (root / "a.py").read_bytes() == b"a\n"
    assert (root / "b.py").read_bytes() == b"b\n"
    assert (root / "c.py").read_bytes() == b"C\n"  # the older, ungrouped change stays
    assert [o.path for o in journal.undo(1)] == ["c.py"]


def test_entries_written_before_groups_existed_still_parse(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", {"a.py": "a\n"})
    journal = UndoJournal(root, tmp_path / "journal")
    entry = journal.record("edit_file", "a.py", b"a\n", b"A\n", 0o644)
    (root / "a.py").write_bytes(b"A\n")
    path = tmp_path / "journal" / "entries" / f"{entry.seq:08d}.json"
    data = json.loads(path.read_text())
    del data["group"]
    path.write_text(json.dumps(data))
    assert journal.entries()[0].group == ""
    assert journal.undo(1)[0].reverted
