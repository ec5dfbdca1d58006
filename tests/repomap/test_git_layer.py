"""The one git layer (`assistant.repo.git`): every call gets its environment and
options, so no git call can reach the network, and no other module runs git.

Real git in temp repos throughout; nothing is patched."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from assistant.repo.git import (
    GitError,
    commit_files,
    find_repo_root,
    git_env,
    git_text,
    is_bare_repo,
    ls_files,
    run_git,
)

ROOT = Path(__file__).resolve().parents[2]


def _plain_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.email", "t@example.com"),
        ("config", "user.name", "T"),
    ):
        assert _plain_git(root, *args).returncode == 0
    (root / "a.txt").write_text("one\n")
    assert _plain_git(root, "add", "a.txt").returncode == 0
    assert _plain_git(root, "commit", "-q", "-m", "first").returncode == 0
    return root


@pytest.fixture()
def remote(tmp_path: Path, repo: Path) -> Path:
    """A real, reachable file:// remote with a commit the work repo lacks."""
    bare = tmp_path / "remote.git"
    assert _plain_git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare)).returncode == 0
    other = tmp_path / "other"
    assert _plain_git(tmp_path, "clone", "-q", str(bare), str(other)).returncode == 0
    (other / "b.txt").write_text("two\n")
    for args in (
        ("add", "b.txt"),
        ("-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "-m", "second"),
        ("push", "-q", "origin", "main"),
    ):
        assert _plain_git(other, *args).returncode == 0
    assert _plain_git(repo, "remote", "add", "origin", bare.as_uri()).returncode == 0
    return bare


def test_no_transport_is_allowed_even_to_a_reachable_local_remote(repo: Path, remote: Path) -> None:
    # The same command outside the layer works: the remote is real and reachable,
    # so the refusal below comes from the layer, not from a broken remote.
    assert _plain_git(repo, "ls-remote", "origin").returncode == 0
    for args in (("ls-remote", "origin"), ("fetch", "-q", "origin")):
        result = run_git(repo, *args, timeout=30)
        assert not result.ok
        assert "transport 'file' not allowed" in result.stderr.decode()
    # and nothing was fetched
    assert _plain_git(repo, "rev-parse", "-q", "--verify", "origin/main").returncode != 0


def test_an_https_remote_is_refused_before_any_connection(repo: Path) -> None:
    # 192.0.2.1 is TEST-NET-1: a connection attempt would hang until the timeout;
    # the layer refuses at once with git's own message.
    _plain_git(repo, "remote", "add", "far", "https://192.0.2.1/x.git")
    result = run_git(repo, "ls-remote", "far", timeout=20)
    assert not result.ok
    assert "transport 'https' not allowed" in result.stderr.decode()


def test_every_call_carries_the_environment(repo: Path) -> None:
    # An alias that prints the environment git gives its children: what every
    # call runs with, seen from inside git.
    out = git_text(repo, "-c", "alias.showenv=!env", "showenv")
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    for key, value in (
        ("GIT_NO_LAZY_FETCH", "1"),
        ("GIT_TERMINAL_PROMPT", "0"),
        ("GIT_ALLOW_PROTOCOL", "assistant-offline"),
        ("GIT_OPTIONAL_LOCKS", "0"),
        ("LC_ALL", "C"),
    ):
        assert seen.get(key) == value, key
        assert git_env()[key] == value
    n = int(seen["GIT_CONFIG_COUNT"]) - 1
    assert (seen[f"GIT_CONFIG_KEY_{n}"], seen[f"GIT_CONFIG_VALUE_{n}"]) == (
        "protocol.allow",
        "never",
    )


def test_external_diff_from_the_environment_is_dropped(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", f"touch {marker}; true")
    (repo / "a.txt").write_text("changed\n")
    assert "+changed" in git_text(repo, "diff")
    assert not marker.exists()


def test_reads_do_not_rewrite_the_index(repo: Path) -> None:
    index = repo / ".git" / "index"
    (repo / "a.txt").write_text("one\n")  # same content, new mtime: status would refresh
    before = index.stat().st_mtime_ns
    run_git(repo, "status", "--short")
    assert index.stat().st_mtime_ns == before


def test_discovery_listing_and_commit(repo: Path, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    assert find_repo_root(repo / "sub") == repo.resolve()
    outside = tmp_path / "outside"
    outside.mkdir()
    assert find_repo_root(outside) is None
    assert not is_bare_repo(repo)
    (repo / "new é.txt").write_text("x\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "skip.log").write_text("x\n")
    assert ls_files(repo) == [".gitignore", "a.txt", "new é.txt"]
    assert ls_files(outside) is None
    assert run_git(repo, "add", "new é.txt").ok
    sha = commit_files(repo, ("new é.txt",), "add it")
    assert sha == git_text(repo, "rev-parse", "--short", "HEAD").strip()
    assert git_text(repo, "log", "-1", "--format=%s").strip() == "add it"
    with pytest.raises(GitError, match="git commit failed"):
        commit_files(repo, ("new é.txt",), "nothing to commit")


def test_a_missing_directory_is_a_git_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="cannot run git"):
        run_git(tmp_path / "gone", "status")


_GIT_CALL = re.compile(r"""\[\s*["']git["']\s*,|["']git["']\s*\]""")


def test_no_module_runs_git_outside_the_layer() -> None:
    offenders = []
    for folder in ("assistant", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "assistant" / "repo" / "git.py":
                continue
            text = path.read_text(encoding="utf-8")
            if _GIT_CALL.search(text) or re.search(r"^\s*import git\b|^\s*from git\b", text, re.M):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_check_above_can_fail() -> None:
    assert _GIT_CALL.search('subprocess.run(["git", "status"])')
    assert _GIT_CALL.search("cmd = ['git']")
