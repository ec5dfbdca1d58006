"""The CLI as a user runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli_flags import run  # the CLI in a subprocess, wide, no colour


def test_help_lists_every_command() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("model", "config", "doctor", "tool", "undo", "map"):
        assert command in out.stdout
    assert "Exit codes" in out.stdout


def test_config_show_reports_sources(git_repo: Path) -> None:
    (git_repo / ".assistant.toml").write_text("n_ctx = 4096\n")
    out = run("config", "show", "--json", cwd=git_repo)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["n_ctx"]["value"] == 4096
    assert data["n_ctx"]["source"] == str(git_repo / ".assistant.toml")
    assert data["approval"]["source"] == "default"


def test_bad_repo_config_is_a_usage_error(git_repo: Path) -> None:
    # (approval in the repo file is only read once trusted: see tests/test_config.py)
    (git_repo / ".assistant.toml").write_text("n_ctx = 1.9\n")
    out = run("config", "show", cwd=git_repo)
    assert out.returncode == 2
    assert out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_model_list_and_doctor(tmp_path: Path) -> None:
    listing = run("model", "list")
    assert listing.returncode == 0
    assert "gemma-4-e4b" in listing.stdout
    doctor = run("doctor", cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    assert "network guard" in doctor.stdout and " on " in doctor.stdout
    assert "assistant model pull" in doctor.stdout  # no model in the private cache
    assert "python, javascript, typescript" in doctor.stdout


def test_pull_refuses_unknown_models_without_touching_the_network() -> None:
    out = run("model", "pull", "no-such-model")
    assert out.returncode == 2
    assert "known models" in out.stderr
