"""`assistant rename` as a user runs it: real subprocesses in real git repositories;
one approval, one journal entry, one `assistant undo` for every file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pexpect

from tests.refactor.conftest import init_repo, snapshot

FILES = {
    "pkg/__init__.py": "",
    "pkg/core.py": "def load(path):\n    return open(path).read()\n",
    "app.py": "from pkg.core import load\n\n\ndef main():\n    return load('x')  # load it\n",
    "tool.py": "from pkg import core\n\nprint(core.load('y'))\n",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )


def test_dry_run_shows_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", FILES)
    before = snapshot(root)
    out = run("rename", "load", "read_all", "--dry-run", cwd=root)
    assert out.returncode == 0, out.stderr
    assert (
        "rename function load (pkg/core.py:1) to read_all: 4 occurrences in 3 files" in out.stdout
    )
    assert "-def load(path):\n+def read_all(path):" in out.stderr
    assert "+    return read_all('x')  # load it" in out.stderr
    assert "dry run: nothing was written" in out.stderr
    assert snapshot(root) == before


def test_yes_applies_and_one_undo_restores_every_file_byte_for_byte(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", FILES)
    before = snapshot(root)
    out = run("rename", "pkg/core.py::load", "read_all", "--yes", cwd=root)
    assert out.returncode == 0, out.stderr
    assert "3 files written" in out.stdout
    assert (root / "tool.py").read_text() == "from pkg import core\n\nprint(core.read_all('y'))\n"
    undo = run("undo", cwd=root)
    assert undo.returncode == 0, undo.stderr
    assert sorted(line.split(":")[0] for line in undo.stdout.splitlines()) == [
        "app.py",
        "pkg/core.py",
        "tool.py",
    ]
    assert snapshot(root) == before
    again = run("undo", cwd=root)
    assert again.returncode != 0 or "reverted" not in again.stdout


def test_json_output(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", FILES)
    out = run("rename", "load", "read_all", "--dry-run", "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["target"] == {
        "path": "pkg/core.py",
        "line": 1,
        "qualified_name": "load",
        "kind": "function",
    }
    assert data["occurrences"] == 4
    assert [f["path"] for f in data["files"]] == ["app.py", "pkg/core.py", "tool.py"]
    assert data["files"][0]["lines"] == [1, 5]


def test_without_a_terminal_or_yes_nothing_is_written_exit_3(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", FILES)
    before = snapshot(root)
    out = run("rename", "load", "read_all", cwd=root)
    assert out.returncode == 3
    assert "no terminal to ask; rerun with --yes" in out.stderr
    assert snapshot(root) == before


def test_refusals_exit_1_and_name_the_reason(tmp_path: Path) -> None:
    files = {**FILES, "pkg/core.py": FILES["pkg/core.py"] + "\n\ndef save(path):\n    pass\n"}
    root = init_repo(tmp_path / "r", files)
    before = snapshot(root)
    clash = run("rename", "load", "save", "--yes", cwd=root)
    assert clash.returncode == 1
    assert "error: save already exists in the module (pkg/core.py:5)" in clash.stderr
    keyword = run("rename", "load", "import", "--yes", cwd=root)
    assert keyword.returncode == 1
    assert "'import' is a keyword" in keyword.stderr
    missing = run("rename", "lod", "x", "--yes", cwd=root)
    assert missing.returncode == 1
    assert "did you mean load" in missing.stderr
    assert snapshot(root) == before


def test_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    out = run("rename", "f", "g", "--yes", cwd=tmp_path)
    assert out.returncode == 2


def test_a_failed_write_restores_the_files_already_written(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", FILES)
    before = snapshot(root)
    locked = root / "tool.py"  # written last (files go in path order)
    locked.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = snapshot(root)
    out = run("rename", "load", "read_all", "--yes", cwd=root)
    assert out.returncode == 4, out.stderr
    assert "tool.py is read-only" in out.stderr
    assert "restored the 2 file(s) already written" in out.stderr
    assert snapshot(root) == before


def test_asks_once_for_the_whole_rename(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", FILES)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "assistant", "rename", "load", "read_all"],
        cwd=str(root),
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Apply\\?")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert child.before.count("Apply?") == 0  # asked once: nothing after the answer
    assert "def read_all(path)" in (root / "pkg/core.py").read_text()
