"""Small git helpers shared by the commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

from assistant.errors import NotARepositoryError


def find_repo_root(start: Path) -> Path | None:
    """The work-tree top-level containing `start`, or None outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start,
            capture_output=True,
            text=True,
            check=False,
        )
    except (OSError, ValueError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return Path(out.stdout.strip()).resolve()


def require_repo_root(start: Path) -> Path:
    root = find_repo_root(start)
    if root is None:
        raise NotARepositoryError(
            f"{start} is not inside a git work tree; cd into your project (or run `git init`)"
        )
    return root


def git_dirs(root: Path) -> list[Path]:
    """What `git rev-parse --absolute-git-dir --git-common-dir` name for `root` (the
    repository's own git directory, wherever a `.git` file or `--separate-git-dir`
    put it); empty outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--git-common-dir"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except (OSError, ValueError):
        return []
    if out.returncode != 0:
        return []
    return [(root / line).resolve() for line in out.stdout.splitlines() if line.strip()]
