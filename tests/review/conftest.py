"""Real temporary git repositories and a way to run the review CLI in them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MAIN = Path(__file__).resolve().parents[2]


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=check)


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)
    return git(root, "rev-parse", "HEAD").stdout.strip()


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(MAIN) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m tests.review.app ARGS` in `root` (the review and hook commands)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.review.app", *args],
        cwd=root,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def canned(tmp_path: Path, *answers: object, name: str = "canned.json") -> Path:
    """A replay file: one answer, or several used in order."""
    texts = [a if isinstance(a, str) else json.dumps(a) for a in answers]
    path = tmp_path / name
    path.write_text(texts[0] if len(texts) == 1 else json.dumps(texts), encoding="utf-8")
    return path


def finding(file: str, line: int, severity: str = "error", **more: object) -> dict[str, object]:
    item: dict[str, object] = {
        "file": file,
        "line": line,
        "end_line": more.pop("end_line", line),
        "severity": severity,
        "category": more.pop("category", "bug"),
        "message": more.pop("message", f"problem at {line}"),
    }
    item.update(more)
    return item


SAMPLE_V1 = """\
import os


def load(path):
    with open(path) as fh:
        return fh.read()


class Store:
    def __init__(self, root):
        self.root = root

    def get(self, key):
        path = os.path.join(self.root, key)
        return load(path)
"""

SAMPLE_V2 = SAMPLE_V1.replace(
    "        path = os.path.join(self.root, key)\n",
    "        path = os.path.join(self.root, key)\n        if key == '':\n            return None\n",
)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """A repo with one commit (app/store.py) and a staged change to it."""
    write(git_repo, {"app/store.py": SAMPLE_V1, "README.md": "demo\n"})
    commit_all(git_repo, "init")
    write(git_repo, {"app/store.py": SAMPLE_V2})
    git(git_repo, "add", "app/store.py")
    return git_repo


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        return root

    return make
