"""`assistant config detect`: propose lint and test commands from what the
repository declares. Nothing runs and nothing is written; the user copies the
proposal into a config file."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import ConfinedReadError, read_repo_file

MAX_BYTES = 1 << 20
NPM_PLACEHOLDER_TEST = "no test specified"  # `npm init`'s default test script


@dataclass
class Proposal:
    lint_command: str | None = None
    test_command: str | None = None
    reasons: list[str] = field(default_factory=list)  # why, one line each


def _read(root: Path, name: str) -> str | None:
    try:
        data = read_repo_file(root, name, MAX_BYTES)
    except ConfinedReadError:
        return None
    return data.decode("utf-8", errors="replace") if data is not None else None


def detect_checks(root: Path) -> Proposal:
    found = Proposal()

    def propose(key: str, command: str, why: str) -> None:
        if getattr(found, key) is None:
            setattr(found, key, command)
            found.reasons.append(f"{key} = {command!r}: {why}")

    pyproject_text = _read(root, "pyproject.toml")
    pyproject: dict[str, object] = {}
    if pyproject_text is not None:
        try:
            pyproject = tomllib.loads(pyproject_text)
        except tomllib.TOMLDecodeError:
            pyproject = {}
    tool = pyproject.get("tool") if isinstance(pyproject.get("tool"), dict) else {}
    assert isinstance(tool, dict)
    if "ruff" in tool or _read(root, "ruff.toml") is not None or _read(root, ".ruff.toml"):
        propose("lint_command", "ruff check {files}", "ruff is configured")
    if "pytest" in tool or (pyproject_text is not None and "pytest" in pyproject_text):
        propose("test_command", "pytest -x -q", "pyproject.toml uses pytest")
    for name, marker in (
        ("pytest.ini", ""),
        ("setup.cfg", "[tool:pytest]"),
        ("tox.ini", "[pytest]"),
    ):
        text = _read(root, name)
        if text is not None and marker in text:
            propose("test_command", "pytest -x -q", f"{name} configures pytest")
    package = _read(root, "package.json")
    if package is not None:
        try:
            scripts = json.loads(package).get("scripts") or {}
        except (ValueError, AttributeError):
            scripts = {}
        test = scripts.get("test") if isinstance(scripts, dict) else None
        if isinstance(test, str) and test.strip() and NPM_PLACEHOLDER_TEST not in test:
            propose("test_command", "npm test", "package.json has a test script")
        lint = scripts.get("lint") if isinstance(scripts, dict) else None
        if isinstance(lint, str) and lint.strip():
            propose("lint_command", "npm run lint", "package.json has a lint script")
    if _read(root, "go.mod") is not None:
        propose("test_command", "go test ./...", "go.mod")
        propose("lint_command", "go vet ./...", "go.mod")
    if _read(root, "Cargo.toml") is not None:
        propose("test_command", "cargo test", "Cargo.toml")
    return found
