"""`assistant ask` and `assistant edit` as a user runs them: a subprocess in a
real git repository (the demo project), with SmolLM2 doing real inference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import REPO, clean_env, git

FAST = ["--ctx", "4096", "--temperature", "0"]


def run(
    cwd: Path, *args: str, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
    )


def events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_ask_answers_on_the_demo_repo(demo_repo: Path, smollm2_path: Path) -> None:
    proc = run(
        demo_repo,
        "ask",
        "What does TaskStore.pending return?",
        "--json",
        "--model",
        str(smollm2_path),
        *FAST,
        "--max-tokens",
        "96",
    )
    lines = events(proc.stdout)
    final = [e for e in lines if e["type"] == "final"]
    assert final, proc.stderr
    assert proc.returncode == (0 if final[0]["outcome"] == "done" else 1)
    assert final[0]["outcome"] in ("done", "truncated")
    assert any(e["type"] == "text" for e in lines)
    assert lines[-1]["type"] == "stats"
    assert git(demo_repo, "status", "--porcelain") == ""  # read-only


def test_edit_yes_applies_a_real_change(demo_repo: Path, smollm2_path: Path) -> None:
    proc = run(
        demo_repo,
        "edit",
        "--yes",
        "Add a docstring to the Task class",
        "todo/models.py",
        "--model",
        str(smollm2_path),
        *FAST,
        "--max-tokens",
        "128",
        "--max-steps",
        "1",  # the first step must edit; its call runs even at the limit
    )
    assert proc.returncode == 0, proc.stderr
    diff = git(demo_repo, "diff")
    assert "todo/models.py" in diff
    assert git(demo_repo, "status", "--porcelain").split() == ["M", "todo/models.py"]


def test_edit_dry_run_prints_the_diff_and_changes_nothing(
    demo_repo: Path, smollm2_path: Path
) -> None:
    proc = run(
        demo_repo,
        "edit",
        "Add a docstring to the Task class",
        "todo/models.py",
        "--model",
        str(smollm2_path),
        *FAST,
        "--max-tokens",
        "128",
        "--max-steps",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    assert "--- a/todo/models.py" in proc.stdout and "+++ b/todo/models.py" in proc.stdout
    assert "dry run" in proc.stderr
    assert "\x1b[" not in proc.stdout  # not a terminal: no ANSI codes
    assert git(demo_repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ask", ""], 2, "give the ask question"),
        (["edit", "   "], 2, "give the edit instruction"),
        (["ask", "hi", "--model", "/nonexistent/model.gguf"], 3, "not found"),
        (["edit", "change it", "no/such/file.py"], 2, "no such file"),
    ],
)
def test_exit_codes(demo_repo: Path, args: list[str], code: int, message: str) -> None:
    proc = run(demo_repo, *args)
    assert proc.returncode == code
    assert message in proc.stderr


def test_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(tmp_path, "ask", "hi")
    assert proc.returncode == 2
    assert "git" in proc.stderr


def test_help_documents_exit_codes() -> None:
    for command in ("ask", "edit", "refactor", "chat"):
        proc = run(REPO, command, "--help")
        assert proc.returncode == 0
        assert "Exit codes" in proc.stdout and "3 no model" in proc.stdout


def test_edit_commit_commits_with_a_message_the_model_writes(
    demo_repo: Path, smollm2_path: Path
) -> None:
    proc = run(
        demo_repo,
        "edit",
        "--commit",
        "--json",
        "Add a docstring to the Task class",
        "todo/models.py",
        "--model",
        str(smollm2_path),
        *FAST,
        "--max-tokens",
        "128",
        "--max-steps",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    commit = [e for e in events(proc.stdout) if e["type"] == "commit"]
    assert commit and commit[0]["message"]
    log = git(demo_repo, "log", "--format=%s").splitlines()
    assert len(log) == 2 and log[0] == str(commit[0]["message"]).splitlines()[0]
    assert git(demo_repo, "status", "--porcelain") == ""
    assert "todo/models.py" in git(demo_repo, "show", "--stat", "HEAD")
