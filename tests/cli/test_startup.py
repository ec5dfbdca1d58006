"""Start-up: the commands that never use a model must not import the model
stack. Checked on sys.modules in a real subprocess (not by timing; the ratios
are measured by tests/benchmarks/bench_startup.py)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli.lazy import LAZY_COMMANDS
from tests.cli.test_cli_flags import run

HEAVY = (
    "numpy",
    "llama_cpp",
    "rich.markdown",
    "jinja2",
    "assistant.protocols",
    "assistant.llm.llama",
    "assistant.agent.loop",
)
# The tools registry is the model-facing toolbox; `tool` and `undo` need it,
# the others do not.
TOOLS = "assistant.tools.registry"

# Runs the CLI in this process, then reports which heavy modules it loaded.
PROBE = """
import json, sys
sys.argv = ["assistant", *json.loads(sys.argv[1])]
from assistant.cli import main
try:
    main()
except SystemExit:
    pass
print("\\nLOADED=" + json.dumps(sorted(m for m in sys.modules if m in HEAVY)))
"""


def loaded_by(args: list[str], cwd: Path, extra: tuple[str, ...] = ()) -> list[str]:
    heavy = (*HEAVY, *extra)
    code = f"HEAVY = {heavy!r}\n" + PROBE
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
        timeout=120,
    )
    line = proc.stdout.rsplit("LOADED=", 1)
    assert len(line) == 2, proc.stdout + proc.stderr
    return list(json.loads(line[1]))


def test_importing_the_cli_loads_no_model_stack() -> None:
    code = (
        "import sys, assistant.cli.app; "
        f"print([m for m in {(*HEAVY, TOOLS)!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


@pytest.fixture
def committed_repo(git_repo: Path) -> Path:
    (git_repo / "a.py").write_text("def f():\n    return 1\n")
    subprocess.run(["git", "add", "a.py"], cwd=git_repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "init"],
        cwd=git_repo,
        check=True,
    )
    return git_repo


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["version"],
        ["--version"],
        ["hook", "status"],
        ["config", "show"],
        ["review", "--staged"],
        ["map", "--tokens", "100"],
    ],
)
def test_commands_without_a_model_do_not_load_it(args: list[str], committed_repo: Path) -> None:
    loaded = loaded_by(args, committed_repo, (TOOLS,))
    if args == ["--help"]:  # typer's own rich help formatter imports rich.markdown
        loaded = [m for m in loaded if m != "rich.markdown"]
    if args[0] == "map":  # the map's PageRank is numpy itself; the model stays out
        loaded = [m for m in loaded if m != "numpy"]
    assert loaded == []


@pytest.mark.parametrize("args", [["undo"], ["tool", "read_file", '{"path": "a.py"}']])
def test_tool_and_undo_do_not_load_the_model(args: list[str], committed_repo: Path) -> None:
    assert loaded_by(args, committed_repo) == []


COMMAND_MODULES = tuple(sorted({command.module for command in LAZY_COMMANDS}))


@pytest.mark.parametrize("args", [["--help"], ["version"], ["--version"], []])
def test_help_and_version_import_no_command_module(args: list[str], committed_repo: Path) -> None:
    loaded = loaded_by(args, committed_repo, COMMAND_MODULES)
    assert not set(loaded) & set(COMMAND_MODULES), loaded


def test_review_imports_only_its_own_command_module(committed_repo: Path) -> None:
    loaded = loaded_by(["review", "--staged"], committed_repo, COMMAND_MODULES)
    assert loaded == ["assistant.cli.review"]


def test_root_help_summaries_are_the_commands_own_first_paragraph() -> None:
    """The root help shows lazy commands from a table, without importing them;
    each line must be what the command itself says first."""
    import click
    import typer

    from assistant.cli.app import app
    from assistant.cli.lazy import LAZY_COMMANDS, LazyRootGroup

    group = typer.main.get_command(app)
    assert isinstance(group, LazyRootGroup)
    group.load_all()
    ctx = click.Context(group)
    for lazy in LAZY_COMMANDS:
        command = group.get_command(ctx, lazy.name)
        assert command is not None, lazy.name
        first = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert " ".join(first.split()) == lazy.summary, lazy.name
    eager = set(group.commands) - {lazy.name for lazy in LAZY_COMMANDS}
    assert eager == {"version"}, "a new command should be lazy, in assistant/cli/lazy.py"


def test_a_typo_suggests_a_lazy_command(committed_repo: Path) -> None:
    out = run("revew", cwd=committed_repo)
    assert out.returncode == 2 and "Did you mean 'review'?" in out.stderr
