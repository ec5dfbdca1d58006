from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from typer.testing import CliRunner

from assistant.cli.map import register
from assistant.errors import NotARepositoryError
from tests.repomap.conftest import MakeRepo, multilang_files


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command keeps `map` a sub-command
        pass

    return app


def test_map_command_text_and_json(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo(multilang_files())
    cache = str(tmp_path / "c.sqlite")
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(root / "pkg")  # the root is found from a subdirectory
    try:
        text = runner.invoke(make_app(), ["map", "--tokens", "200", "--cache", cache])
        assert text.exit_code == 0, text.output
        assert text.output.strip()
        out = runner.invoke(
            make_app(),
            [
                "map",
                "--tokens",
                "300",
                "--focus",
                "chat.py",
                "--mention",
                "QueryEngine",
                "--json",
                "--cache",
                cache,
            ],
        )
        assert out.exit_code == 0, out.output
        data = json.loads(out.output)
        assert data["tokens"] <= 300
        assert data["root"] == str(root)
        paths = [f["path"] for f in data["files"]]
        assert "pkg/engine.py" in paths and "pkg/chat.py" in paths
    finally:
        os.chdir(cwd)


def test_map_outside_git(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text("def only_function():\n    pass\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(make_app(), ["map", "--cache", str(tmp_path / "c.sqlite")])
    finally:
        os.chdir(cwd)
    # Outside git the map is a usage error (exit 2 through the CLI's error
    # handler), not a walk of whatever tree the user stands in (issue 15).
    assert isinstance(result.exception, NotARepositoryError)
    assert result.exception.exit_code == 2
    assert not (tmp_path / "c.sqlite").exists()


def test_map_cache_follows_assistant_cache_dir(make_repo: MakeRepo, tmp_path: Path) -> None:
    """All caches follow ASSISTANT_CACHE_DIR (issue 11): the repo map's SQLite
    cache used to go to the platform cache dir regardless."""
    import subprocess
    import sys

    root = make_repo({"lib.py": "def helper():\n    pass\n"})
    cache = tmp_path / "my-cache"
    env = dict(os.environ, ASSISTANT_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "map"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert list((cache / "repomap").glob("*.sqlite"))
    assert not (tmp_path / "xdg").exists()
