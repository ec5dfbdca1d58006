"""The git `pre-commit` hook: install, uninstall, status.

The hook is a small POSIX shell script marked with `MARKER`. A hook that was
already there is kept: it is moved aside to `pre-commit.assistant-chained` and
our script runs it first (its failure stops the commit, as before). Uninstall
puts it back. The hooks directory is what git itself uses (`git rev-parse
--git-path hooks`: honours core.hooksPath and linked work trees)."""

from __future__ import annotations

import enum
import os
import shlex
import shutil
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError, UsageError
from assistant.fsutil import atomic_write, current_umask
from assistant.review.gitsource import GitRepo

HOOK_NAME = "pre-commit"
CHAINED_NAME = "pre-commit.assistant-chained"
MARKER = "# assistant-review-hook v1"

TEMPLATE = """#!/bin/sh
{marker}
# Installed by `assistant hook install`; remove with `assistant hook uninstall`.
# Reviews the staged changes with the local model. Skip once: git commit --no-verify.
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/{chained}" ]; then
    "$hook_dir/{chained}" "$@" || exit $?
fi
if [ -n "$ASSISTANT_SKIP_REVIEW" ]; then
    exit 0
fi
{run}
"""

# The review is run, not exec'd, so that this script sees how it ended. Only a
# review that wrote "block" into the verdict file may stop the commit; any other
# failure (a missing or broken interpreter, an import error, a crash, a config
# error) lets it through and says so, unless --strict.
RUN = """exe={exe}
if [ ! -x "$exe" ]; then
    echo "assistant pre-commit hook: $exe not found; commit not reviewed" >&2
    exit {missing_status}
fi
verdict=$(mktemp "${{TMPDIR:-/tmp}}/assistant-hook.XXXXXX" 2>/dev/null) || verdict=""
{env_name}="$verdict" {command}
status=$?
decision=""
if [ -n "$verdict" ]; then
    decision=$(cat "$verdict" 2>/dev/null)
    rm -f "$verdict"
fi
if [ "$status" -eq 0 ]; then
    exit 0
fi
if [ "$decision" = "block" ]; then
    exit 1
fi
{on_failure}"""
ON_FAILURE_OPEN = """echo "assistant pre-commit hook: review failed (exit $status); commit not reviewed" >&2
exit 0"""
ON_FAILURE_STRICT = """echo "assistant pre-commit hook: review failed (exit $status); commit refused (--strict)" >&2
exit 1"""

# The review command writes "block" here when it refuses the commit on purpose.
VERDICT_ENV = "ASSISTANT_HOOK_VERDICT"


class HookState(enum.Enum):
    NOT_INSTALLED = "not installed"
    INSTALLED = "installed"
    FOREIGN = "another pre-commit hook is installed"


@dataclass(frozen=True)
class HookStatus:
    state: HookState
    path: Path
    chained: Path | None  # the kept earlier hook, if any
    command: str | None  # the review command line our hook runs


def hooks_dir(repo: GitRepo) -> Path:
    out = repo.run("rev-parse", "--git-path", "hooks").strip()
    path = Path(out)
    return path if path.is_absolute() else (repo.root / path)


def default_command() -> list[str]:
    """The installed `assistant` console script, by absolute path (a hook runs
    with whatever PATH git has), else this interpreter with `-m assistant`."""
    candidates = [Path(sys.executable).parent / "assistant"]
    found = shutil.which("assistant")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate.resolve())]
    return [sys.executable, "-m", "assistant"]


def hook_script(command: Sequence[str], review_args: Sequence[str]) -> str:
    full = [*command, "review", "--staged", *review_args]
    quoted = " ".join(shlex.quote(part) for part in full)
    strict = "--strict" in review_args
    run = RUN.format(
        exe=shlex.quote(command[0]),
        missing_status=1 if strict else 0,
        env_name=VERDICT_ENV,
        command=quoted,
        on_failure=ON_FAILURE_STRICT if strict else ON_FAILURE_OPEN,
    )
    return TEMPLATE.format(marker=MARKER, chained=CHAINED_NAME, run=run)


def write_verdict(block: bool) -> None:
    """Tell the hook script that this review refuses the commit on purpose.
    Only the file the script created (a regular file) is written."""
    target = os.environ.get(VERDICT_ENV)
    if not target or not block:
        return
    try:
        fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.write(fd, b"block")
    finally:
        os.close(fd)


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _command_line(path: Path) -> str | None:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("exec "):  # scripts written before the verdict file
            return line[5:]
        if line.startswith(f'{VERDICT_ENV}="$verdict" '):
            return line.split(" ", 1)[1]
    return None


def status(repo: GitRepo) -> HookStatus:
    directory = hooks_dir(repo)
    path = directory / HOOK_NAME
    chained = directory / CHAINED_NAME
    if not path.exists():
        return HookStatus(HookState.NOT_INSTALLED, path, None, None)
    if not _is_ours(path):
        return HookStatus(HookState.FOREIGN, path, None, None)
    return HookStatus(
        HookState.INSTALLED, path, chained if chained.exists() else None, _command_line(path)
    )


def _write_executable(path: Path, text: str) -> None:
    mode = (0o666 & ~current_umask()) | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    atomic_write(path, text.encode("utf-8"), mode)


def shared_hooks_warning(repo: GitRepo, directory: Path) -> str | None:
    """Why installing into `directory` reaches beyond this clone, or None.

    A `core.hooksPath` set outside this repository's own config applies to
    every repository that reads that config; one inside the work tree is a
    folder that is usually committed and shared with everyone."""
    line = repo.run(
        "config", "--show-scope", "--show-origin", "--get", "core.hooksPath", check=False
    ).strip()
    if not line:
        return None
    scope, _, rest = line.partition("\t")
    origin = rest.partition("\t")[0]
    target = directory / HOOK_NAME
    if scope not in ("local", "worktree"):
        return (
            f"core.hooksPath is set in your {scope} git config ({origin}): installing would "
            f"write {target}, which runs for every repository that uses that setting"
        )
    try:
        inside = directory.resolve().is_relative_to(repo.root.resolve())
    except OSError:
        inside = False
    git_dir = Path(repo.run("rev-parse", "--absolute-git-dir", check=False).strip() or ".")
    if inside and not directory.resolve().is_relative_to(git_dir.resolve()):
        return (
            f"core.hooksPath points into the work tree: installing would write {target}, "
            "a file that is usually committed and shared with everyone who clones the repository"
        )
    return None


def install(
    repo: GitRepo,
    review_args: Sequence[str] = (),
    command: Sequence[str] | None = None,
    *,
    force: bool = False,
) -> HookStatus:
    """Install (or update) our hook, keeping any other hook chained. A shared
    hooks directory (see `shared_hooks_warning`) needs `force`."""
    directory = hooks_dir(repo)
    warning = shared_hooks_warning(repo, directory)
    if warning is not None and not force:
        raise UsageError(f"{warning}; pass --force to install there anyway")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HOOK_NAME
    chained = directory / CHAINED_NAME
    if (path.exists() or path.is_symlink()) and not _is_ours(path):
        if chained.exists() or chained.is_symlink():
            raise AssistantError(
                f"both {path} and {chained} exist; move one away and run install again"
            )
        os.replace(path, chained)
    _write_executable(path, hook_script(list(command or default_command()), review_args))
    return status(repo)


def uninstall(repo: GitRepo) -> HookStatus:
    """Remove our hook and put back the one it chained. Another tool's hook is
    left alone."""
    directory = hooks_dir(repo)
    path = directory / HOOK_NAME
    chained = directory / CHAINED_NAME
    if path.exists() and not _is_ours(path):
        raise AssistantError(f"{path} was not installed by assistant; leaving it alone")
    if path.exists():
        path.unlink()
    if chained.exists() or chained.is_symlink():
        os.replace(chained, path)
    return status(repo)
