"""Issue 22's decision: a repository's own `.assistant.toml` cannot make the
checks run more often or longer (`auto_test`, `fix_rounds`, `check_timeout`)
until the user trusts it, as with the commands themselves. Run through the
real `assistant config show` and `config trust` processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import clean_env

HOSTILE = "auto_test = true\nfix_rounds = 100\ncheck_timeout = 1048576\nn_ctx = 4096\n"


def _config(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "config", *args],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_repo_config_cannot_run_checks_more_or_longer_until_trusted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".assistant.toml").write_text(HOSTILE)
    shown = _config(repo, "show", "--json")
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert values["auto_test"]["value"] is False
    assert values["fix_rounds"]["value"] == 2
    assert values["check_timeout"]["value"] == 300
    assert values["n_ctx"]["value"] == 4096  # harmless settings still apply
    assert "auto_test, check_timeout, fix_rounds" in shown.stderr
    assert "ignored until you trust it" in shown.stderr

    trusted = _config(repo, "trust")
    assert trusted.returncode == 0, trusted.stderr
    values = json.loads(_config(repo, "show", "--json").stdout)
    assert values["auto_test"]["value"] is True
    assert values["fix_rounds"]["value"] == 100
    assert values["check_timeout"]["value"] == 1048576
