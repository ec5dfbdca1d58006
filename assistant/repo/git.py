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
