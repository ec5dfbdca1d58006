"""`edit --commit` messages and `undo` of the commit (issue 15). The message
cleaner is pure; undo runs the real CLI on real repositories, and one test
runs the whole flow with SmolLM2 doing real inference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from assistant.tools.journal import UndoJournal

from assistant.cli.commits import CommitRecord, clean_commit_message, fallback_message
from tests.agent.conftest import clean_env, git

INSTRUCTION = "add a docstring to the Task class"


@pytest.mark.parametrize(
    ("raw", "cut", "expected"),
    [
        ("Add due dates to tasks", False, "Add due dates to tasks"),
        (
            "Add due dates to tasks.\n\nUsers asked for them.",
            False,
            "Add due dates to tasks\n\nUsers asked for them.",
        ),
        ("Here is the commit message:\n```\nFix the parser\n```", False, "Fix the parser"),
        ('Sure! Here\'s a commit message:\n\n"Document Task"', False, "Document Task"),
        (
            "Subject: Document Task\n\nBody: explains fields",
            False,
            "Document Task\n\nexplains fields",
        ),
        ("Document Task\n\nIt explains the fields and the st", True, "Document Task"),
        ("Document the Ta", True, "Add a docstring to the Task class"),
        ("```\n```", False, "Add a docstring to the Task class"),
        ("", False, "Add a docstring to the Task class"),
    ],
)
def test_clean_commit_message(raw: str, cut: bool, expected: str) -> None:
    assert clean_commit_message(raw, INSTRUCTION, cut=cut) == expected


def test_long_subjects_are_cut_at_a_word() -> None:
    subject = clean_commit_message("word " * 40, INSTRUCTION)
    assert len(subject) <= 72 and not subject.endswith(" ")
    assert len(fallback_message("x " * 100)) <= 72


def run(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def committed_change(git_repo: Path) -> tuple[Path, str]:
    """A change made by the tools and committed the way `edit --commit` does."""
    (git_repo / "a.py").write_text("x = 1\n")
    git(git_repo, "add", "a.py")
    git(git_repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "init")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    assert run(git_repo, "tool", "read_file", '{"path": "a.py"}').returncode == 0
    proc = run(git_repo, "tool", "write_file", '{"path": "a.py", "content": "x = 2\\n"}', "--yes")
    assert proc.returncode == 0, proc.stderr
    git(git_repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qam", "Set x")
    sha = git(git_repo, "rev-parse", "HEAD").strip()
    CommitRecord(sha, ("a.py",)).save(UndoJournal.for_session(git_repo, "cli").directory)
    return git_repo, base


def test_undo_drops_an_unpushed_head_commit(committed_change: tuple[Path, str]) -> None:
    repo, base = committed_change
    (repo / "other.txt").write_text("staged by the user\n")
    git(repo, "add", "other.txt")
    proc = run(repo, "undo")
    assert proc.returncode == 0, proc.stderr
    assert "undid commit" in proc.stdout
    assert git(repo, "rev-parse", "HEAD").strip() == base
    assert (repo / "a.py").read_text() == "x = 1\n"
    # The user's own staged file stays staged; a.py is clean.
    assert git(repo, "status", "--porcelain").splitlines() == ["A  other.txt"]


def test_undo_keeps_a_pushed_commit_and_says_so(
    committed_change: tuple[Path, str], tmp_path: Path
) -> None:
    repo, _ = committed_change
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    head = git(repo, "rev-parse", "HEAD").strip()
    proc = run(repo, "undo")
    assert proc.returncode == 0
    assert "stays: it was pushed" in proc.stderr and "git revert" in proc.stderr
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert (repo / "a.py").read_text() == "x = 1\n"  # the file is still restored


def test_edit_message_commits_and_undo_removes_it(demo_repo: Path, smollm2_path: Path) -> None:
    base = git(demo_repo, "rev-parse", "HEAD").strip()
    proc = run(
        demo_repo,
        "edit",
        "--message",
        "Document the Task class",
        "Add a docstring to the Task class",
        "todo/models.py",
        "--model",
        str(smollm2_path),
        "--ctx",
        "4096",
        "--temperature",
        "0",
        "--max-tokens",
        "128",
        "--max-steps",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    assert git(demo_repo, "log", "-1", "--format=%B").strip() == "Document the Task class"
    undo = run(demo_repo, "undo")
    assert undo.returncode == 0, undo.stderr
    assert "undid commit" in undo.stdout
    assert git(demo_repo, "rev-parse", "HEAD").strip() == base
    assert git(demo_repo, "status", "--porcelain") == ""


def test_escape_sequences_in_a_model_message_are_made_visible() -> None:
    """`git log` would replay them on every reader's terminal."""
    message = clean_commit_message("Fix \x1b[2Jthe parser\x1b]0;pwned\x07\n\nBody \x9b31m", "x")
    assert message == "Fix ␛[2Jthe parser␛]0;pwned␇\n\nBody <U+009B>31m"
