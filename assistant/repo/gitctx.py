"""Git context for the prompt: branch, status, staged and unstaged diffs, recent
commit subjects, each capped in size.

Plain `git` through `assistant.repo.git` (no index writes), so it works the
same in an empty repository (no commits), on a detached HEAD, and mid-rebase."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.repo.git import GitError, find_repo_root, run_git

MAX_DIFF_CHARS = 6000
MAX_STATUS_LINES = 40
MAX_COMMITS = 5


def _git(root: Path, *args: str) -> tuple[int, str]:
    try:
        result = run_git(root, *args, timeout=30)
    except GitError:
        return 1, ""
    return result.returncode, result.stdout.decode("utf-8", "replace")


def cap(text: str, max_chars: int) -> tuple[str, bool]:
    """`text` cut on a line boundary to at most `max_chars`, with a note of what
    was left out; and whether anything was."""
    if len(text) <= max_chars:
        return text, False
    cut = text.rfind("\n", 0, max_chars)
    head = text[: cut + 1] if cut > 0 else text[:max_chars]
    dropped = text[len(head) :].count("\n") + (0 if text.endswith("\n") else 1)
    return head + f"… ({dropped} more lines)\n", True


@dataclass(frozen=True)
class GitContext:
    root: Path
    branch: str | None  # None on a detached HEAD
    head: str | None  # short commit id; None before the first commit
    status: str  # `git status --short` lines
    staged_diff: str
    unstaged_diff: str
    recent_commits: list[str] = field(default_factory=list)  # "abc1234 subject"
    truncated: bool = False

    @property
    def detached(self) -> bool:
        return self.branch is None and self.head is not None

    @property
    def empty(self) -> bool:
        """No commits yet."""
        return self.head is None

    def render(self) -> str:
        if self.branch is not None:
            where = f"branch {self.branch}"
        elif self.head is not None:
            where = f"detached HEAD at {self.head}"
        else:
            where = "no branch"
        if self.empty:
            where += " (no commits yet)"
        parts = [f"Git: {where}"]
        if self.recent_commits:
            parts.append("Recent commits:\n" + "\n".join(f"  {c}" for c in self.recent_commits))
        parts.append("Status:\n" + (self.status.rstrip("\n") if self.status.strip() else "  clean"))
        if self.staged_diff.strip():
            parts.append("Staged changes:\n" + self.staged_diff.rstrip("\n"))
        if self.unstaged_diff.strip():
            parts.append("Unstaged changes:\n" + self.unstaged_diff.rstrip("\n"))
        return "\n\n".join(parts) + "\n"


def git_context(
    path: Path,
    *,
    max_diff_chars: int = MAX_DIFF_CHARS,
    max_status_lines: int = MAX_STATUS_LINES,
    max_commits: int = MAX_COMMITS,
) -> GitContext | None:
    """The repository state at `path`, or None when it is not in a work tree."""
    root = find_repo_root(Path(path))
    if root is None:
        return None
    code, out = _git(root, "symbolic-ref", "--short", "-q", "HEAD")
    branch = out.strip() if code == 0 and out.strip() else None
    code, out = _git(root, "rev-parse", "--short", "-q", "--verify", "HEAD")
    head = out.strip() if code == 0 and out.strip() else None
    truncated = False

    _code, status = _git(root, "status", "--short", "--untracked-files=normal")
    lines = status.splitlines()
    if len(lines) > max_status_lines:
        status = "\n".join(lines[:max_status_lines]) + (
            f"\n… ({len(lines) - max_status_lines} more)\n"
        )
        truncated = True

    diff_args = ("--no-color", "--no-ext-diff", "--stat=80", "--patch")
    _code, staged = _git(root, "diff", "--cached", *diff_args)
    staged, cut = cap(staged, max_diff_chars)
    truncated |= cut
    _code, unstaged = _git(root, "diff", *diff_args)
    unstaged, cut = cap(unstaged, max_diff_chars)
    truncated |= cut

    commits: list[str] = []
    if head is not None and max_commits > 0:
        code, out = _git(root, "log", f"-n{max_commits}", "--format=%h %s")
        if code == 0:
            commits = [line[:200] for line in out.splitlines() if line.strip()]
    return GitContext(root, branch, head, status, staged, unstaged, commits, truncated)


__all__ = ["GitContext", "cap", "git_context"]
