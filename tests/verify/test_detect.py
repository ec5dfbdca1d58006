"""`assistant config detect` proposes commands from what a repository declares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.repo.detect_checks import detect_checks


@pytest.mark.parametrize(
    ("files", "lint", "test"),
    [
        (
            {"pyproject.toml": "[tool.pytest.ini_options]\n[tool.ruff]\n"},
            "ruff check {files}",
            "pytest -x -q",
        ),
        (
            {"pyproject.toml": '[project]\noptional-dependencies = {dev = ["pytest"]}\n'},
            None,
            "pytest -x -q",
        ),
        (
            {"ruff.toml": "line-length = 99\n", "setup.cfg": "[tool:pytest]\n"},
            "ruff check {files}",
            "pytest -x -q",
        ),
        (
            {"package.json": '{"scripts": {"test": "jest", "lint": "eslint ."}}'},
            "npm run lint",
            "npm test",
        ),
        (
            {
                "package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'
            },
            None,
            None,
        ),
        ({"go.mod": "module x\n"}, "go vet ./...", "go test ./..."),
        ({"Cargo.toml": "[package]\nname = 'x'\n"}, None, "cargo test"),
        ({"README.md": "hi\n"}, None, None),
    ],
)
def test_detect(tmp_path: Path, files: dict[str, str], lint: str | None, test: str | None) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = detect_checks(tmp_path)
    assert (found.lint_command, found.test_command) == (lint, test)
    assert len(found.reasons) == (lint is not None) + (test is not None)


def test_config_detect_command_prints_toml(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "config", "detect"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'test_command = "go test ./..."' in proc.stdout.splitlines()
    as_json = subprocess.run(
        [sys.executable, "-m", "assistant", "config", "detect", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(as_json.stdout)["lint_command"] == "go vet ./..."
