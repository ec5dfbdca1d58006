"""Root flags and usage errors, as a user runs them: real subprocesses, real
git repositories in temp dirs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from assistant import __version__


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
        timeout=120,
    )


def many_functions(repo: Path) -> Path:
    body = "".join(f"def function_number_{i}(argument_{i}):\n    return {i}\n\n" for i in range(80))
    (repo / "mod.py").write_text(body)
    return repo


def test_version_flag_on_the_root() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"assistant {__version__}"


def test_verbose_is_a_root_option_accepted_after_any_command(git_repo: Path) -> None:
    for args in (("--verbose", "config", "show"), ("config", "show", "--verbose")):
        out = run(*args, cwd=git_repo)
        assert out.returncode == 0, out.stderr
    assert "--verbose" in run("--help").stdout


def test_help_has_no_type_labels() -> None:
    text = run("ask", "--help").stdout + run("map", "--help").stdout
    for label in ("<bool>", "<str>", "<int>", "<path>", "{path}"):
        assert label not in text


def test_map_outside_a_git_repository_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    out = run("map", cwd=tmp_path)
    assert out.returncode == 2
    assert "not inside a git work tree" in out.stderr
    assert out.stdout == ""


def test_map_honours_map_tokens_from_the_config(git_repo: Path) -> None:
    many_functions(git_repo)
    default = json.loads(run("map", "--json", cwd=git_repo).stdout)
    (git_repo / ".assistant.toml").write_text("map_tokens = 60\n")
    small = json.loads(run("map", "--json", cwd=git_repo).stdout)
    flag = json.loads(run("map", "--json", "--tokens", "300", cwd=git_repo).stdout)
    assert small["tokens"] <= 60 < default["tokens"]
    assert 60 < flag["tokens"] <= 300


def test_dash_m_is_not_mention_in_map(git_repo: Path) -> None:
    many_functions(git_repo)
    out = run("map", "-m", "function_number_3", cwd=git_repo)
    assert out.returncode == 2  # -m means --model where it exists; map has no model
    assert run("map", "--mention", "function_number_3", cwd=git_repo).returncode == 0


def test_unknown_tool_is_a_usage_error(git_repo: Path) -> None:
    out = run("tool", "nosuch", "{}", cwd=git_repo)
    assert out.returncode == 2
    assert "unknown tool 'nosuch'" in out.stderr and "read_file" in out.stderr


def test_dash_m_is_model_in_review_and_hook(git_repo: Path) -> None:
    for command in (["review", "--help"], ["hook", "install", "--help"]):
        text = run(*command).stdout
        assert re.search(r"--model\s+-m\s", text), text


def test_every_argument_shows_its_help() -> None:
    """Each positional argument declares a help text, and --help prints it
    (click 8.5 with typer 0.25 silently dropped them all)."""
    import click
    import typer

    from assistant.cli.app import app
    from assistant.cli.lazy import LazyRootGroup

    root = typer.main.get_command(app)
    assert isinstance(root, LazyRootGroup)
    root.load_all()
    missing = []
    todo: list[tuple[str, click.Command]] = [("assistant", root)]
    while todo:
        name, command = todo.pop()
        if isinstance(command, click.Group):
            todo.extend((f"{name} {sub}", cmd) for sub, cmd in command.commands.items())
        missing += [
            f"{name} {param.name}"
            for param in command.params
            if isinstance(param, click.Argument) and not getattr(param, "help", None)
        ]
    assert missing == []
    out = run("review", "--help")
    assert "Limit the review to these paths" in out.stdout
