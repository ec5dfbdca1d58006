"""Issue 22: arguments that are not text (a lone surrogate, JSON "\\ud800")
are refused arguments with one clean line, for every tool, whether they come
from `assistant tool` (a real process) or from the model (Toolbox.call), and
never an `unexpected UnicodeEncodeError`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from assistant.tools.registry import Toolbox

from tests.agent.conftest import clean_env
from tests.tools.conftest import snapshot

HOSTILE = [
    ("read_file", '{"path": "\\ud800.py"}', "path"),
    ("read_file", '{"path": "src/\\udc80.py"}', "path"),
    ("read_file", '{"path": "\\udfff"}', "path"),
    ("list_files", '{"glob": "\\ud800*"}', "glob"),
    ("search", '{"pattern": "\\ud800"}', "pattern"),
    ("search", '{"pattern": "x", "glob": "\\udbff/*.py"}', "glob"),
    ("write_file", '{"path": "\\udcff.py", "content": "x"}', "path"),
    ("write_file", '{"path": "new.py", "content": "\\ud800"}', "content"),
    ("edit_file", '{"path": "README.md", "old_text": "\\ud800", "new_text": "x"}', "old_text"),
    ("edit_file", '{"path": "README.md", "old_text": "x", "new_text": "\\udc00"}', "new_text"),
]


def _tool(repo: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **clean_env(),
        "ASSISTANT_DATA_DIR": str(data),
        "NO_COLOR": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "assistant", "tool", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(("name", "arguments", "param"), HOSTILE)
def test_the_cli_refuses_arguments_that_are_not_text(
    repo: Path, tmp_path: Path, name: str, arguments: str, param: str
) -> None:
    before = snapshot(repo)
    proc = _tool(repo, tmp_path / "data", name, "--yes", arguments)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"{param} holds" in lines[0] and "lone surrogate" in lines[0]
    assert "UnicodeEncodeError" not in proc.stderr and "unexpected" not in proc.stderr
    assert snapshot(repo) == before  # nothing written, no file with a byte name


@pytest.mark.parametrize(("name", "arguments", "param"), HOSTILE)
def test_the_model_gets_the_same_refusal(
    toolbox: Toolbox, name: str, arguments: str, param: str
) -> None:
    import json

    toolbox.call("read_file", {"path": "README.md"})  # edits need a read first
    result = toolbox.call(name, json.loads(arguments))
    assert not result.ok
    assert f"{param} holds" in result.text and "lone surrogate" in result.text
    result.text.encode("utf-8")  # the text goes back to the model: it must be text


def test_a_surrogate_pair_is_text(repo: Path, tmp_path: Path) -> None:
    """JSON's escaped pair is one character (😀), not a lone surrogate."""
    proc = _tool(repo, tmp_path / "data", "read_file", '{"path": "\\ud83d\\ude00.py"}')
    assert proc.returncode == 1 and "no such file" in proc.stdout + proc.stderr
    assert "surrogate" not in proc.stdout + proc.stderr


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names must be UTF-8")
def test_a_non_utf8_file_name_from_the_shell_is_refused_cleanly(repo: Path, tmp_path: Path) -> None:
    """`assistant ask --files` with a name that is not UTF-8 (the shell passes
    bytes; Python sees surrogate escapes): a usage error, one line."""
    name = os.fsdecode(b"\xff.py")
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--files", name, "hi"],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        errors="replace",
    )
    assert proc.returncode == 2, proc.stderr
    assert "not UTF-8 text" in proc.stderr and "unexpected" not in proc.stderr
