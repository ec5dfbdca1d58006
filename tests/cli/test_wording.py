"""What the user reads from config, model, review and hook commands (issue 15):
real subprocesses on real git repositories in temp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import clean_env, git


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean_env(), "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
        check=False,
        timeout=120,
    )


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "a.py").write_text("def f():\n    return 1\n")
    git(git_repo, "add", "a.py")
    git(git_repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "init")
    return git_repo


def test_config_show_prints_toml_values_and_marks_missing_files(repo: Path, tmp_path: Path) -> None:
    out = run("config", "show", cwd=repo, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert out.returncode == 0, out.stderr
    assert "(not present)" in out.stdout
    assert "'ask'" not in out.stdout and "None" not in out.stdout
    assert '"ask"' in out.stdout and "(unset)" in out.stdout and "false" in out.stdout


def test_model_list_on_an_empty_cache_says_how_to_pull(tmp_path: Path) -> None:
    out = run(
        "model",
        "list",
        env={"ASSISTANT_CACHE_DIR": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d")},
    )
    assert out.returncode == 0, out.stderr
    assert "no models in" in out.stdout and "assistant model pull" in out.stdout


def test_model_info_humanises_the_parameter_count(smollm2_path: Path) -> None:
    out = run("model", "info", str(smollm2_path))
    assert out.returncode == 0, out.stderr
    assert "134.5 M" in out.stdout
    assert '"parameters": 134515008' in run("model", "info", str(smollm2_path), "--json").stdout


def test_empty_staged_review_says_nothing_staged(repo: Path) -> None:
    out = run("review", "--staged", cwd=repo)
    assert out.returncode == 0
    assert "nothing staged to review" in out.stderr
    assert "finding(s)" not in out.stdout + out.stderr


def test_hand_run_review_without_a_model_does_not_talk_about_commits(repo: Path) -> None:
    (repo / "a.py").write_text("def f():\n    return 2\n")
    git(repo, "add", "a.py")
    out = run("review", "--staged", "--model", str(repo / "missing.gguf"), cwd=repo)
    assert out.returncode == 0
    assert "review skipped" in out.stderr and "commit allowed" not in out.stderr
    hooked = run(
        "review",
        "--staged",
        "--model",
        str(repo / "missing.gguf"),
        cwd=repo,
        env={"ASSISTANT_HOOK_VERDICT": str(repo / ".verdict")},
    )
    assert "commit allowed" in hooked.stderr


def test_hook_install_again_keeps_options_and_shows_changes(repo: Path) -> None:
    first = run("hook", "install", "--fail-on", "warning", "--strict", cwd=repo)
    assert first.returncode == 0, first.stderr
    again = run("hook", "install", "--timeout", "30", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert "changed --timeout: 120 -> 30" in again.stdout
    assert "--fail-on warning" in again.stdout and "--strict" in again.stdout


def test_hook_uninstall_says_it_restored_the_chained_hook(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    earlier = hooks / "pre-commit"
    earlier.write_text("#!/bin/sh\nexit 0\n")
    earlier.chmod(0o755)
    assert run("hook", "install", cwd=repo).returncode == 0
    out = run("hook", "uninstall", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "restored the earlier pre-commit hook" in out.stdout
    assert earlier.read_text() == "#!/bin/sh\nexit 0\n"
    assert os.access(earlier, os.X_OK)


def test_a_missing_model_names_where_its_path_came_from(repo: Path, tmp_path: Path) -> None:
    """`model file not found … (from --model)` was printed whatever set the path:
    each source names itself, so the user knows what to fix."""
    home = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
    }
    user_file = tmp_path / "config" / "assistant" / "config.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text('model = "/nowhere/user.gguf"\n')

    def error_line(*args: str, env: dict[str, str] | None = None) -> str:
        out = run("ask", *args, "hello", cwd=repo, env={**home, **(env or {})})
        assert out.returncode == 3, out.stderr
        return next(line for line in out.stderr.splitlines() if line.startswith("error:"))

    assert f"/nowhere/user.gguf (from {user_file})" in error_line()
    (repo / ".assistant.toml").write_text('model = "/nowhere/repo.gguf"\n')
    assert run("config", "trust", cwd=repo, env=home).returncode == 0
    assert f"/nowhere/repo.gguf (from {repo / '.assistant.toml'})" in error_line()
    line = error_line(env={"ASSISTANT_MODEL": "/nowhere/env.gguf"})
    assert "/nowhere/env.gguf (from ASSISTANT_MODEL)" in line
    line = error_line("--model", "/nowhere/flag.gguf", env={"ASSISTANT_MODEL": "/x.gguf"})
    assert "/nowhere/flag.gguf (from --model)" in line
