"""`/rename` in `assistant chat` (a real terminal through pexpect, SmolLM2 loaded but
not asked anything): the diff, one question, the files renamed, one /undo."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect

from tests.agent.conftest import clean_env, git

PROMPT = "\n> "


def test_rename_in_chat_asks_once_and_one_undo_reverts(demo_repo: Path, smollm2_path: Path) -> None:
    env = clean_env()
    env["TERM"] = "xterm-256color"
    env["NO_COLOR"] = "1"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "assistant", "chat", "--model", str(smollm2_path), "--ctx", "3072"],
        cwd=str(demo_repo),
        env=env,
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=240,
    )
    try:
        child.expect(r"Ctrl-D to\s+quit")
        child.expect(PROMPT)
        child.sendline("/rename TaskStore.pending open_tasks")
        child.expect("3 occurrences in 3 files")
        child.expect("def open_tasks")
        child.expect(r"Apply\?")
        child.sendline("y")
        child.expect("renamed: ")
        child.expect(PROMPT)
        changed = git(demo_repo, "diff", "--name-only").split()
        assert changed == ["tests/test_store.py", "todo/cli.py", "todo/store.py"]
        child.sendline("/rename open_tasks class")
        child.expect("'class' is a keyword")
        child.expect(PROMPT)
        child.sendline("/undo")
        child.expect("restored")
        child.expect(PROMPT)
        assert git(demo_repo, "status", "--porcelain") == ""
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
