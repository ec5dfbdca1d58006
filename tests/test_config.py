from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import UsageError


def test_layers_and_sources(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('n_ctx = 4096\napproval = "auto-edit"\nmap_tokens = 500\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".assistant.toml").write_text("n_ctx = 8192\n")
    settings = load_settings(
        repo, {"map_tokens": 700}, user_file=user, environ={"ASSISTANT_APPROVAL": "read-only"}
    )
    assert settings.n_ctx == 8192 and settings.sources["n_ctx"].endswith(".assistant.toml")
    assert settings.approval == "read-only" and settings.sources["approval"] == "environment"
    assert settings.map_tokens == 700 and settings.sources["map_tokens"] == "command line"
    assert settings.temperature is None and settings.sources["temperature"] == "default"


def test_bad_values_are_usage_errors(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text("n_ctx = 'lots'\n")
    with pytest.raises(UsageError, match="n_ctx"):
        load_settings(None, user_file=user, environ={})
    user.write_text("colour = 'blue'\n")
    with pytest.raises(UsageError, match="unknown setting"):
        load_settings(None, user_file=user, environ={})
    user.write_text("not toml [")
    with pytest.raises(UsageError, match="cannot read config"):
        load_settings(None, user_file=user, environ={})
