"""The one way this package runs git: every git subprocess goes through `run_git`,
with one environment (`git_env`) and one set of `-c` options.

Plain `git` rather than GitPython: the same binary the user's hooks and pre-commit
run, one place to make every call local-only and lock-free, and no import cost.

Every call is lock-free for reads and network-free (see `git_env`; none of our
calls fetches, so nothing legitimate is lost), with paths as UTF-8 and no colour
(`GIT_OPTIONS`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError, NotARepositoryError

# A protocol name no git knows: GIT_ALLOW_PROTOCOL then allows no transport at
# all, overriding any protocol.*.allow in the user's config.
NO_PROTOCOL = "assistant-offline"

GIT_OPTIONS: tuple[str, ...] = (
    "-c",
    "core.quotepath=off",
    "-c",
    "color.ui=false",
)


class GitError(AssistantError):
    """git could not run, timed out, or (for `git_text`) failed."""


def git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every git call this package makes (`base`: os.environ).

    - GIT_OPTIONAL_LOCKS=0: reads never refresh (write) the index.
    - LC_ALL=C: stable, parseable output and messages.
    - no GIT_EXTERNAL_DIFF: a diff never runs a configured command.
    - GIT_NO_LAZY_FETCH=1: no on-demand fetch of a partial clone's missing
      objects (git >= 2.44).
    - GIT_ALLOW_PROTOCOL (a protocol no git knows) and protocol.allow=never: no
      transport may be used at all, for older gits too, overriding any
      protocol.*.allow in the user's config.
    - GIT_TERMINAL_PROMPT=0, no askpass: never wait for a password.
    The config entry goes through GIT_CONFIG_COUNT (git >= 2.31), appended to any
    the caller already has, so it reaches every call without argv changes."""
    env = dict(os.environ if base is None else base)
    env.pop("GIT_EXTERNAL_DIFF", None)
    env.pop("GIT_SSH_COMMAND", None)
    env.update(
        GIT_OPTIONAL_LOCKS="0",
        LC_ALL="C",
        GIT_NO_LAZY_FETCH="1",
        GIT_ALLOW_PROTOCOL=NO_PROTOCOL,
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="true",
        SSH_ASKPASS="true",
    )
    try:
        count = max(0, int(env.get("GIT_CONFIG_COUNT", "0")))
    except ValueError:
        count = 0
    env[f"GIT_CONFIG_KEY_{count}"] = "protocol.allow"
    env[f"GIT_CONFIG_VALUE_{count}"] = "never"
    env["GIT_CONFIG_COUNT"] = str(count + 1)
    return env


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        """stdout as text; undecodable bytes survive (surrogateescape) for paths."""
        return self.stdout.decode("utf-8", "surrogateescape")

    @property
    def error(self) -> str:
        """The first line of stderr, or the exit status when git said nothing."""
        lines = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[0] if lines else f"exit status {self.returncode}"


def run_git(
    cwd: Path, *args: str, input: bytes | None = None, timeout: float | None = None
) -> GitResult:
    """`git <args>` in `cwd`. Raises GitError only when git cannot run or times out;
    a failing command is a GitResult with a non-zero returncode."""
    try:
        proc = subprocess.run(
            ["git", *GIT_OPTIONS, *args],
            cwd=cwd,
            env=git_env(),
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, ValueError) as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0] if args else ''} took over {timeout:g} s") from exc
    return GitResult(proc.returncode, proc.stdout or b"", proc.stderr or b"")


def git_text(cwd: Path, *args: str, timeout: float | None = None) -> str:
    """stdout of `git <args>`; GitError with git's message when it fails."""
    result = run_git(cwd, *args, timeout=timeout)
    if not result.ok:
        message = result.stderr.decode("utf-8", "replace")
        if "promisor remote" in message or "lazy fetching disabled" in message:
            raise GitError(
                "objects of this partial clone are not here, and the assistant never fetches "
                "(no network): run `git fetch` (or check out the revisions) first"
            )
        raise GitError(f"git {' '.join(args[:3])}: {' '.join(message.split())}")
    return result.text


def find_repo_root(start: Path) -> Path | None:
    """The work-tree top-level containing `start`, or None outside git."""
    try:
        result = run_git(start, "rev-parse", "--show-toplevel")
    except GitError:
        return None
    out = result.stdout.decode("utf-8", "surrogateescape").strip()
    if not result.ok or not out:
        return None
    return Path(out).resolve()


def repo_root_or_cwd(start: Path | None = None) -> Path:
    """The git top-level containing `start` (default: the current directory), or
    `start` itself outside git: for commands that also work without a repository."""
    start = start or Path.cwd()
    return find_repo_root(start) or start


def require_repo_root(start: Path | None = None) -> Path:
    """The git top-level containing `start` (default: the current directory), or a
    one-line NotARepositoryError (exit 2)."""
    start = start or Path.cwd()
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
        result = run_git(root, "rev-parse", "--absolute-git-dir", "--git-common-dir")
    except GitError:
        return []
    if not result.ok:
        return []
    return [(root / line).resolve() for line in result.text.splitlines() if line.strip()]


def is_bare_repo(root: Path) -> bool:
    try:
        result = run_git(root, "rev-parse", "--is-bare-repository")
    except GitError:
        return False
    return result.ok and result.text.strip() == "true"


def ls_files(root: Path) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files relative to `root`, sorted; None
    outside git."""
    try:
        result = run_git(root, "ls-files", "-co", "--exclude-standard", "-z")
    except GitError:
        return None
    if not result.ok:
        return None
    return sorted({n for n in result.text.split("\0") if n})


def commit_files(root: Path, files: tuple[str, ...], message: str) -> str:
    """Commit exactly `files` (hooks run) and return the new short commit id."""
    result = run_git(root, "commit", "-q", "-m", message, "--", *files)
    if not result.ok:
        detail = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
        raise GitError(f"git commit failed: {detail}")
    return git_text(root, "rev-parse", "--short", "HEAD").strip()


__all__ = [
    "GIT_OPTIONS",
    "NO_PROTOCOL",
    "GitError",
    "GitResult",
    "commit_files",
    "find_repo_root",
    "git_dirs",
    "git_env",
    "git_text",
    "is_bare_repo",
    "ls_files",
    "repo_root_or_cwd",
    "require_repo_root",
    "run_git",
]
