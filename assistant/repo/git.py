"""Small git helpers shared by the commands."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from assistant.errors import NotARepositoryError

# A protocol name no git knows: GIT_ALLOW_PROTOCOL then allows no transport at
# all, overriding any protocol.*.allow in the user's config.
NO_PROTOCOL = "assistant-offline"


def git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for every git subprocess the assistant runs: git never
    touches the network (our calls never fetch). In a partial or blobless clone
    a missing object would otherwise be fetched from the remote on demand.

    - GIT_NO_LAZY_FETCH=1: no on-demand fetch of missing objects (git >= 2.44).
    - GIT_ALLOW_PROTOCOL / protocol.allow=never: no transport may be used at
      all, for older gits too (a lazy fetch then fails before it connects).
    - GIT_TERMINAL_PROMPT=0, no askpass: never wait for a password.
    The config entry goes through GIT_CONFIG_COUNT (git >= 2.31), appended to
    any the caller already has, so it reaches every call without argv changes."""
    env = dict(os.environ if base is None else base)
    env["GIT_NO_LAZY_FETCH"] = "1"
    env["GIT_ALLOW_PROTOCOL"] = NO_PROTOCOL
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ASKPASS"] = "true"
    env["SSH_ASKPASS"] = "true"
    env.pop("GIT_SSH_COMMAND", None)
    try:
        count = max(0, int(env.get("GIT_CONFIG_COUNT", "0")))
    except ValueError:
        count = 0
    env[f"GIT_CONFIG_KEY_{count}"] = "protocol.allow"
    env[f"GIT_CONFIG_VALUE_{count}"] = "never"
    env["GIT_CONFIG_COUNT"] = str(count + 1)
    return env


def find_repo_root(start: Path) -> Path | None:
    """The work-tree top-level containing `start`, or None outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start,
            env=git_env(),
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
            env=git_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    except (OSError, ValueError):
        return []
    if out.returncode != 0:
        return []
    return [(root / line).resolve() for line in out.stdout.splitlines() if line.strip()]
