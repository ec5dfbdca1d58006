"""Fixtures: real `git init` repositories built in temp dirs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.repomap.samples import SAMPLES


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(root),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )
    return proc.stdout


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes], commit: bool = True, name: str = "") -> Path:
        root = tmp_path / (name or f"repo{next(counter)}")
        root.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main")
        write(root, files)
        if commit and files:
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "initial")
        return root

    return make


def multilang_files() -> dict[str, str | bytes]:
    """Every sample in its own directory, plus a Python package whose files
    reference each other in a known pattern."""
    files: dict[str, str | bytes] = {
        f"{lang}/{sample.filename}": sample.source for lang, sample in SAMPLES.items()
    }
    files.update(PY_PROJECT)
    return files


# app.py uses engine.py heavily; engine.py uses util.py; lonely.py uses nothing and
# nothing uses it; chat.py references only widgets.py.
PY_PROJECT: dict[str, str | bytes] = {
    "pkg/__init__.py": "",
    "pkg/engine.py": (
        "from pkg.util import normalize_path\n\n"
        "class QueryEngine:\n"
        "    def execute_query(self, sql: str) -> list:\n"
        "        return [normalize_path(sql)]\n\n"
        "def create_engine(url: str) -> QueryEngine:\n"
        "    return QueryEngine()\n"
    ),
    "pkg/util.py": (
        "def normalize_path(p: str) -> str:\n    return p.strip()\n\n"
        "def rarely_used_helper() -> int:\n    return 1\n"
    ),
    "pkg/app.py": (
        "from pkg.engine import QueryEngine, create_engine\n\n"
        "def main() -> None:\n"
        "    engine = create_engine('x')\n"
        "    engine.execute_query('select 1')\n"
        "    QueryEngine().execute_query('y')\n"
        "    create_engine('z').execute_query('w')\n"
    ),
    "pkg/lonely.py": "class LonelyThing:\n    def solitary_method(self) -> None:\n        pass\n",
    "pkg/widgets.py": (
        "class FancyWidgetFactory:\n    def build_fancy_widget(self) -> str:\n        return 'w'\n"
    ),
    "pkg/chat.py": (
        "from pkg.widgets import FancyWidgetFactory\n\n"
        "def talk() -> str:\n    return FancyWidgetFactory().build_fancy_widget()\n"
    ),
}
