"""Git subprocesses never touch the network (issue 11, section 5).

A blobless clone whose objects are missing locally makes git fetch them from
the promisor remote on demand ("lazy fetch"): `review --range` used to do that.
The remote here records any use before a byte could leave: an `ext::` transport
that runs a local script (the script writes a file when git starts it), or an
HTTP URL on a 127.0.0.1 port this test listens on (any connection is caught).
Both would be reached without the guard; the tests assert neither is."""

from __future__ import annotations

import ast
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from assistant.repo.git import git_env
from tests.review.conftest import MAIN, canned, cli_env, git, run_cli


def _blobless_clone(tmp_path: Path) -> Path:
    server = tmp_path / "server"
    server.mkdir()
    git(server, "init", "-q", "-b", "main")
    (server / "f.py").write_text("def f():\n    return 1\n")
    git(server, "add", "-A")
    git(server, "commit", "-q", "--no-verify", "-m", "one")
    (server / "f.py").write_text("def f():\n    return 2\n")
    git(server, "commit", "-q", "--no-verify", "-am", "two")
    git(server, "config", "uploadpack.allowFilter", "true")
    git(server, "config", "uploadpack.allowAnySHA1InWant", "true")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "--no-checkout", server.as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    return clone


def _recording_remote(tmp_path: Path, clone: Path) -> Path:
    """Point the promisor remote at an ext:: transport that records its use."""
    used = tmp_path / "REMOTE-USED"
    script = tmp_path / "remote.sh"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{used}"\nexec git-upload-pack "{tmp_path}/server"\n'
    )
    script.chmod(0o755)
    git(clone, "config", "remote.origin.url", f"ext::{script} %S")
    git(clone, "config", "protocol.ext.allow", "always")  # a permissive user config
    return used


def test_the_recording_remote_really_records_without_the_guard(tmp_path: Path) -> None:
    """The probe works: plain git (no guard) fetches the missing blobs through it."""
    clone = _blobless_clone(tmp_path)
    used = _recording_remote(tmp_path, clone)
    assert git(clone, "diff", "HEAD~1", "HEAD").returncode == 0
    assert used.exists()


def test_review_range_in_a_blobless_clone_never_fetches(tmp_path: Path) -> None:
    clone = _blobless_clone(tmp_path)
    used = _recording_remote(tmp_path, clone)
    env = cli_env(ASSISTANT_REVIEW_REPLAY=str(canned(tmp_path, {"findings": []})))
    proc = run_cli(clone, "review", "--range", "HEAD~1..HEAD", env=env)
    assert not used.exists(), "git used the remote"
    assert proc.returncode == 1
    assert "never fetches" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


class _Listener:
    """A TCP port on 127.0.0.1 that counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> object:
    server = _Listener()
    yield server
    server.close()


def test_review_range_never_connects_to_an_http_remote(tmp_path: Path, listener: _Listener) -> None:
    clone = _blobless_clone(tmp_path)
    git(clone, "config", "remote.origin.url", f"http://127.0.0.1:{listener.port}/repo.git")
    # The probe: plain git does connect.
    git(clone, "diff", "HEAD~1", "HEAD", check=False)
    assert listener.connections > 0
    before = listener.connections
    env = cli_env(ASSISTANT_REVIEW_REPLAY=str(canned(tmp_path, {"findings": []})))
    proc = run_cli(clone, "review", "--range", "HEAD~1..HEAD", env=env)
    assert proc.returncode == 1 and "never fetches" in proc.stderr
    assert listener.connections == before


def test_git_env_blocks_every_transport_even_when_config_allows_it(
    tmp_path: Path, listener: _Listener
) -> None:
    clone = _blobless_clone(tmp_path)
    git(clone, "config", "protocol.http.allow", "always")
    git(clone, "config", "remote.origin.url", f"http://127.0.0.1:{listener.port}/repo.git")
    proc = subprocess.run(
        ["git", "fetch", "origin"], cwd=clone, env=git_env(), capture_output=True, text=True
    )
    assert proc.returncode != 0 and "not allowed" in proc.stderr
    assert listener.connections == 0
    env = git_env({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"})
    assert env["GIT_CONFIG_KEY_0"] == "a.b" and env["GIT_CONFIG_KEY_1"] == "protocol.allow"
    assert env["GIT_CONFIG_COUNT"] == "2"


def _git_calls_without_env(path: Path) -> list[int]:
    """Line numbers of subprocess calls whose argv literal starts with "git" and
    that pass no env= (so they would miss git_env)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        first = node.args[0]
        if (
            isinstance(first, ast.List)
            and first.elts
            and isinstance(first.elts[0], ast.Constant)
            and first.elts[0].value == "git"
            and not any(k.arg == "env" for k in node.keywords)
        ):
            bad.append(node.lineno)
    return bad


def test_every_git_subprocess_in_the_package_gets_an_environment() -> None:
    missing = {
        str(path.relative_to(MAIN)): lines
        for folder in (MAIN / "assistant", MAIN / "tools")
        for path in sorted(folder.rglob("*.py"))
        if (lines := _git_calls_without_env(path))
    }
    assert not missing, f"git calls without env=git_env(): {missing}"
