"""`assistant tool` and `assistant undo`, run as real processes on a tiny Typer app
(the lead wires `register` into `assistant.cli.app`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.conftest import init_repo

ROOT = Path(__file__).resolve().parents[2]
APP = (
    "import typer\n"
    "from assistant.cli.tool import register\n"
    "app = typer.Typer()\n"
    "register(app)\n"
    "app()\n"
)


class Cli:
    def __init__(self, cwd: Path, data: Path) -> None:
        self.cwd = cwd
        self.env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            XDG_DATA_HOME=str(data),
            ASSISTANT_DATA_DIR=str(data / "assistant"),
            PYTHONDONTWRITEBYTECODE="1",
            NO_COLOR="1",
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", APP, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    repo = init_repo(tmp_path / "repo", {"app.py": "def main():\n    return 1\n"})
    (repo / "sub").mkdir()
    return Cli(repo / "sub", tmp_path / "data")  # from a subdirectory: root is the toplevel


def test_list_prints_declarations(cli: Cli) -> None:
    proc = cli("tool", "--list")
    assert proc.returncode == 0
    names = [d["name"] for d in json.loads(proc.stdout)]
    assert "edit_file" in names and "run_command" not in names
    with_commands = json.loads(cli("tool", "--list", "--allow-commands").stdout)
    assert "run_command" in [d["name"] for d in with_commands]
    read_only = json.loads(cli("tool", "--list", "--read-only").stdout)
    assert not any(d["mutates"] for d in read_only)


def test_dry_run_then_yes_then_undo(cli: Cli) -> None:
    target = cli.cwd.parent / "app.py"
    read = cli("tool", "read_file", '{"path": "app.py"}')
    assert read.returncode == 0
    assert read.stdout == "app.py (lines 1-2 of 2)\n1| def main():\n2|     return 1\n"
    args = json.dumps({"path": "app.py", "old_text": "return 1", "new_text": "return 2"})
    dry = cli("tool", "edit_file", args)
    assert dry.returncode == 0, dry.stderr
    assert "(dry run: nothing was written)" in dry.stdout
    assert "-    return 1\n+    return 2" in dry.stderr and "--yes" in dry.stderr
    assert "return 1" in target.read_text()
    applied = cli("tool", "edit_file", args, "--yes")  # the read persisted across processes
    assert applied.returncode == 0, applied.stdout
    assert applied.stdout.startswith("ok: edited app.py: 1 replacement at line 2 (exact match)")
    assert "return 2" in target.read_text()
    undo = cli("undo")
    assert undo.returncode == 0 and undo.stdout == "app.py: restored (undid edit_file)\n"
    assert target.read_text() == "def main():\n    return 1\n"
    nothing_left = cli("undo")
    assert nothing_left.returncode == 1 and nothing_left.stderr.startswith("error:")


def test_undo_refuses_changed_file(cli: Cli) -> None:
    cli("tool", "write_file", '{"path": "new.txt", "content": "hi"}', "--yes")
    (cli.cwd.parent / "new.txt").write_text("edited by hand\n")
    proc = cli("undo")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: new.txt: changed since write_file wrote it")
    assert (cli.cwd.parent / "new.txt").read_text() == "edited by hand\n"


def test_errors_and_exit_codes(cli: Cli, tmp_path: Path) -> None:
    refused = cli("tool", "read_file", '{"path": "../../etc/passwd"}')
    assert refused.returncode == 1 and refused.stdout.startswith("error: ")
    unknown = cli("tool", "rm", "{}")
    # An unknown tool is a usage error (issue 15): exit 2, one line on stderr.
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown tool 'rm'")
    bad_json = cli("tool", "read_file", "{path: x}")
    assert bad_json.returncode == 2 and bad_json.stderr.startswith("error: the arguments are not")
    disabled = cli("tool", "run_command", '{"command": "true"}', "--yes")
    assert disabled.returncode == 1 and "--allow-commands" in disabled.stdout
    ran = cli("tool", "run_command", '{"command": "echo hi"}', "--yes", "--allow-commands")
    assert ran.returncode == 0 and ran.stdout == "exit code 0\nhi\n\n"
    outside = tmp_path / "plain"
    outside.mkdir()
    lost = Cli(outside, tmp_path / "data")("tool", "list_files")
    assert lost.returncode == 2
    assert lost.stderr.startswith("error:") and "not inside a git work tree" in lost.stderr
    assert len(lost.stderr.strip().splitlines()) == 1


def test_ask_reads_answer_from_stdin(cli: Cli) -> None:
    cli("tool", "read_file", '{"path": "app.py"}')
    args = json.dumps({"path": "app.py", "old_text": "return 1", "new_text": "return 5"})
    proc = subprocess.run(
        [sys.executable, "-c", APP, "tool", "edit_file", args, "--ask"],
        cwd=cli.cwd,
        env=cli.env,
        input="maybe\nn\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout.startswith("error: the user declined")
    assert "Apply? [y]es / [n]o / [a]lways / [q]uit" in proc.stderr
    assert "return 1" in (cli.cwd.parent / "app.py").read_text()
