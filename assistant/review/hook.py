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

from assistant.errors import AssistantError
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

RUN_PRIMARY = """if [ -x {exe} ]; then
    exec {command}
fi"""
RUN_MISSING = """echo "assistant pre-commit hook: {what} not found; commit not reviewed" >&2
exit 0"""


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
    run = RUN_PRIMARY.format(exe=shlex.quote(command[0]), command=quoted)
    run += "\n" + RUN_MISSING.format(what=command[0].replace('"', ""))
    return TEMPLATE.format(marker=MARKER, chained=CHAINED_NAME, run=run)


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _command_line(path: Path) -> str | None:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip().startswith("exec "):
            return line.strip()[5:]
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


def install(
    repo: GitRepo, review_args: Sequence[str] = (), command: Sequence[str] | None = None
) -> HookStatus:
    """Install (or update) our hook, keeping any other hook chained."""
    directory = hooks_dir(repo)
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
