"""Diff parsing on what real git prints."""

from __future__ import annotations

from pathlib import Path

from assistant.review.diff import ChangeKind, FileDiff, LineKind, parse_unified_diff, unquote_path
from assistant.review.gitsource import DiffMode, DiffSpec, GitRepo
from tests.review.conftest import SAMPLE_V1, commit_all, git, write

STAGED = DiffSpec(DiffMode.STAGED)


def staged(root: Path) -> list[FileDiff]:
    git(root, "add", "-A")
    return parse_unified_diff(GitRepo(root).diff_text(STAGED))


def test_modified_file_lines_and_numbers(repo: Path) -> None:
    (diff,) = parse_unified_diff(GitRepo(repo).diff_text(STAGED))
    assert diff.kind is ChangeKind.MODIFIED and diff.path == "app/store.py"
    (hunk,) = diff.hunks
    added = [(line.new_no, line.text) for line in hunk.lines if line.kind is LineKind.ADDED]
    assert added == [(15, "        if key == '':"), (16, "            return None")]
    assert (hunk.new_start, hunk.new_end) == (12, 17)
    assert hunk.contains(12) and hunk.contains(17)
    assert not hunk.contains(11) and not hunk.contains(18)


def test_added_deleted_renamed_mode_binary(git_repo: Path) -> None:
    write(
        git_repo,
        {
            "gone.py": "x = 1\n",
            "move_me.py": SAMPLE_V1,
            "tool.sh": "echo hi\n",
            "logo.bin": b"\0\1",
        },
    )
    commit_all(git_repo, "init")
    (git_repo / "gone.py").unlink()
    git(git_repo, "mv", "move_me.py", "moved.py")
    (git_repo / "tool.sh").chmod(0o755)
    write(git_repo, {"new file.py": "print('hi')\n", "logo.bin": b"\0\2\3"})
    diffs = {d.path: d for d in staged(git_repo)}
    assert diffs["gone.py"].kind is ChangeKind.DELETED and diffs["gone.py"].new_path is None
    assert diffs["moved.py"].kind is ChangeKind.RENAMED
    assert diffs["moved.py"].old_path == "move_me.py" and not diffs["moved.py"].hunks
    assert diffs["tool.sh"].mode_changed and not diffs["tool.sh"].hunks
    assert diffs["new file.py"].kind is ChangeKind.ADDED
    assert diffs["new file.py"].hunks[0].new_start == 1
    assert diffs["logo.bin"].binary


def test_quoted_unicode_path_and_no_newline(git_repo: Path) -> None:
    write(git_repo, {"tést\tname.py": "a = 1"})  # no newline at the end
    (diff,) = staged(git_repo)
    assert diff.path == "tést\tname.py"
    (hunk,) = diff.hunks
    assert [line.text for line in hunk.lines] == ["a = 1"]


def test_line_that_looks_like_a_header_stays_in_the_hunk(git_repo: Path) -> None:
    write(git_repo, {"notes.txt": "-- a/x\n++ b/y\n@@ -1 +1 @@\ndiff --git a/q b/q\n"})
    (diff,) = staged(git_repo)
    assert len(diff.hunks) == 1 and len(diff.hunks[0].lines) == 4


def test_unquote_octal_escapes() -> None:
    assert unquote_path('"a/t\\303\\251st\\"q\\\\"') == 'a/tést"q\\'
    assert unquote_path("plain") == "plain"


def test_unmerged_path_is_flagged() -> None:
    (diff,) = parse_unified_diff("* Unmerged path conflict.py\n")
    assert diff.unmerged and diff.path == "conflict.py"
