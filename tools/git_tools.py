"""git_status and git_diff: read-only views of the repository's state.

git runs through `assistant.repo.git` (no optional locks, so even `status` never
rewrites .git/index; network-free) and without external diff or textconv drivers
(which would run configured commands)."""

from __future__ import annotations

from assistant.tools.context import ToolContext
from assistant.tools.result import ToolError, ToolResult

from assistant.repo.git import GitError, run_git

MAX_CHARS = 30_000


def _git(ctx: ToolContext, *args: str) -> str:
    try:
        result = run_git(ctx.root, *args, timeout=30)
    except GitError as exc:
        raise ToolError(f"git could not run: {exc}") from None
    if not result.ok:
        raise ToolError(f"git {args[0]} failed: {result.error}")
    return result.stdout.decode("utf-8", "replace")


def _cap(text: str, what: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    cut = text[:MAX_CHARS]
    cut = cut[: cut.rfind("\n") + 1] or cut
    return cut + f"[cut: {what} is {len(text)} characters; showed the first {len(cut)}]"


def git_status(ctx: ToolContext) -> ToolResult:
    """Show the working tree status: current branch and changed, staged and untracked
    files (git status --short --branch)."""
    out = _git(ctx, "status", "--short", "--branch", "--untracked-files=normal")
    lines = out.rstrip("\n").splitlines()
    if len(lines) <= 1:
        branch = lines[0].removeprefix("## ") if lines else "unknown branch"
        return ToolResult(True, f"clean working tree ({branch})")
    return ToolResult(True, _cap(out.rstrip("\n"), "the status"))


def git_diff(ctx: ToolContext, staged: bool = False) -> ToolResult:
    """Show uncommitted changes as a unified diff: unstaged changes by default, or
    what is staged for the next commit.

    Args:
        staged: show the staged changes (git diff --staged) instead of unstaged ones
    """
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"]
    if staged:
        args.append("--staged")
    out = _git(ctx, *args)
    if not out.strip():
        return ToolResult(True, "no staged changes" if staged else "no unstaged changes")
    return ToolResult(True, _cap(out, "the diff"))
