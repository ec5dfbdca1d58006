"""Findings dropped outside the diff: counted in the summary, listed with
--verbose (root option, before or after the command), kept in --json with the
reason. Driven through the real `assistant` entry point in a real git repo;
the model's answer is replayed (ASSISTANT_REVIEW_REPLAY, the documented seam)
so that the findings outside the diff are certain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.review.anchor import DroppedFinding, DropReason, anchor_findings
from assistant.review.diff import Hunk
from assistant.review.findings import Category, Finding, Severity
from assistant.review.gitsource import DiffMode, DiffSpec, GitRepo
from assistant.review.model import ReplayReviewer
from assistant.review.runner import ReviewOptions, run_review
from tests.review.conftest import canned, cli_env, finding

ANSWER = {
    "findings": [
        finding("app/store.py", 15, "error", message="returns None for an empty key"),
        finding("app/store.py", 1, "warning", category="style", message="unused import os"),
        finding("app/store.py", 999, "info", category="docs", message="document the store"),
    ]
}


def assistant(root: Path, *args: str, replay: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=root,
        env=cli_env(ASSISTANT_REVIEW_REPLAY=str(replay)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_result_keeps_what_was_dropped_and_why(repo: Path, tmp_path: Path) -> None:
    result = run_review(
        GitRepo(repo),
        DiffSpec(DiffMode.STAGED),
        lambda: ReplayReviewer(canned(tmp_path, ANSWER)),
        ReviewOptions(timeout=60, repo_map=False),
    )
    assert [f.line for f in result.findings] == [15]
    assert result.dropped_outside_diff == 2
    outside, past = result.dropped
    assert isinstance(outside, DroppedFinding)
    assert (outside.finding.line, outside.reason) == (1, DropReason.OUTSIDE_HUNKS)
    assert outside.finding.message == "unused import os" and outside.chunk == "app/store.py"
    # The hunk under review: new lines 12-17 (three context lines, the change, the last line).
    assert outside.hunks == ((12, 17),)
    assert outside.explain() == "line 1 is outside the changed hunks (lines 12-17)"
    assert (past.reason, past.file_lines) == (DropReason.PAST_END_OF_FILE, 17)
    assert past.explain() == "line 999 is past the end of the file (17 lines)"


@pytest.mark.parametrize(
    "args",
    [
        ("--verbose", "review", "--staged", "--fail-on", "never"),
        ("review", "--staged", "--fail-on", "never", "--verbose"),
    ],
)
def test_verbose_lists_each_dropped_finding(
    repo: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    proc = assistant(repo, *args, replay=canned(tmp_path, ANSWER))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 dropped outside the diff" in out and "--verbose lists them" not in out
    assert "dropped outside the diff (2):" in out
    lines = [line.strip() for line in out.splitlines()]
    assert (
        "app/store.py:1 warning style: unused import os "
        "[line 1 is outside the changed hunks (lines 12-17)]"
    ) in lines
    assert (
        "app/store.py:999 info docs: document the store "
        "[line 999 is past the end of the file (17 lines)]"
    ) in lines
    # The kept finding is a finding, not in the dropped list.
    assert not any(line.startswith("app/store.py:15") for line in lines)


def test_without_verbose_the_summary_says_how_to_list_them(repo: Path, tmp_path: Path) -> None:
    proc = assistant(
        repo, "review", "--staged", "--fail-on", "never", replay=canned(tmp_path, ANSWER)
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 dropped outside the diff (--verbose lists them)" in proc.stdout
    assert "dropped outside the diff (2):" not in proc.stdout
    assert "unused import os" not in proc.stdout
    # None dropped: no hint.
    kept_only = {"findings": ANSWER["findings"][:1]}
    proc = assistant(
        repo, "review", "--staged", "--fail-on", "never", replay=canned(tmp_path, kept_only)
    )
    assert "0 dropped outside the diff" in proc.stdout and "--verbose" not in proc.stdout


def test_json_holds_the_dropped_findings(repo: Path, tmp_path: Path) -> None:
    replay = canned(tmp_path, ANSWER)
    proc = assistant(
        repo, "review", "--staged", "--format", "json", "--fail-on", "never", replay=replay
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [f["line"] for f in data["findings"]] == [15]
    assert data["summary"]["dropped_outside_diff"] == len(data["dropped"]) == 2
    first = data["dropped"][0]
    assert first == {
        "file": "app/store.py",
        "line": 1,
        "end_line": 1,
        "severity": "warning",
        "category": "style",
        "message": "unused import os",
        "reason": "outside_hunks",
        "explanation": "line 1 is outside the changed hunks (lines 12-17)",
        "chunk": "app/store.py",
    }
    assert data["dropped"][1]["reason"] == "past_end_of_file"
    # --verbose with JSON on stdout: the JSON stays clean, the listing goes to stderr.
    proc = assistant(
        repo,
        "--verbose",
        "review",
        "--staged",
        "--format",
        "json",
        "--fail-on",
        "never",
        replay=replay,
    )
    assert json.loads(proc.stdout)["dropped"] == data["dropped"]
    assert "app/store.py:1 warning style: unused import os" in proc.stderr


def test_anchor_tells_the_reasons_apart() -> None:
    hunk = Hunk(10, 3, 10, 5)  # new lines 10-14
    made = [
        Finding("a.py", 11, 11, Severity.ERROR, Category.BUG, "kept"),
        Finding("a.py", 3, 3, Severity.ERROR, Category.BUG, "before"),
        Finding("a.py", 30, 30, Severity.ERROR, Category.BUG, "past the end"),
        Finding("b.py", 1, 1, Severity.ERROR, Category.BUG, "other file"),
    ]
    result = anchor_findings(made, {"a.py": [hunk]}, {"a.py": 20}, chunk="a.py")
    assert [f.message for f in result.kept] == ["kept"]
    assert [(d.finding.message, d.reason) for d in result.dropped] == [
        ("before", DropReason.OUTSIDE_HUNKS),
        ("past the end", DropReason.PAST_END_OF_FILE),
        ("other file", DropReason.FILE_NOT_IN_DIFF),
    ]
    assert result.dropped[2].explain() == "b.py is not in the diff under review"
    # Without the file's length a line past the end is only "outside the hunks".
    unknown = anchor_findings(made[2:3], {"a.py": [hunk]})
    assert unknown.dropped[0].reason is DropReason.OUTSIDE_HUNKS
