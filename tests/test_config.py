from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import ConfinedReadError, load_settings, read_repo_file, set_trust
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
    assert settings.approval == "read-only" and settings.sources["approval"] == "ASSISTANT_APPROVAL"
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


# ------------------------------------------------- one place checks every value


@pytest.mark.parametrize(
    ("key", "toml_value", "why"),
    [
        ("allow_commands", "[0]", "true or false"),
        ("allow_commands", "0", "true or false"),
        ("n_ctx", "1.9", "whole number"),
        ("n_ctx", "true", "whole number"),
        ("temperature", "nan", "finite"),
        ("temperature", "inf", "finite"),
        ("temperature", "-1", "at least"),
        ("prefix_cache_mb", "-1", "at least"),
        ("threads", "0", "at least"),
        ("max_tokens", "0", "at least"),
        ("kv_type", "'q2_k'", "kv_type must be"),
    ],
)
def test_bad_values_are_refused_from_files(
    tmp_path: Path, key: str, toml_value: str, why: str
) -> None:
    user = tmp_path / "user.toml"
    user.write_text(f"{key} = {toml_value}\n")
    with pytest.raises(UsageError, match=why) as info:
        load_settings(None, user_file=user, environ={})
    assert str(user) in info.value.message or key == "kv_type"
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    ("env", "flags"),
    [
        ({"ASSISTANT_CTX": "1.9"}, {}),
        ({}, {"temperature": float("nan")}),
        ({}, {"temperature": float("inf")}),
        ({}, {"temperature": -1.0}),
        ({"ASSISTANT_REPEAT_PENALTY": "nan"}, {}),
        ({"ASSISTANT_THREADS": "-3"}, {}),
    ],
)
def test_bad_values_are_refused_from_env_and_flags(
    tmp_path: Path, env: dict[str, str], flags: dict[str, object]
) -> None:
    with pytest.raises(UsageError, match="bad value"):
        load_settings(None, flags, user_file=tmp_path / "none.toml", environ=env)


def test_threads_above_the_core_count_are_capped_with_a_note(tmp_path: Path) -> None:
    settings = load_settings(
        None, {"threads": 100000}, user_file=tmp_path / "none.toml", environ={}
    )
    assert settings.threads == (os.cpu_count() or 1)
    assert len(settings.notes) == 1 and "capped" in settings.notes[0]
    assert "command line" in settings.notes[0]


def test_good_strings_from_the_environment_still_work(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        user_file=tmp_path / "none.toml",
        environ={"ASSISTANT_CTX": "4096", "ASSISTANT_REPEAT_PENALTY": "1.1"},
    )
    assert settings.n_ctx == 4096 and settings.repeat_penalty == 1.1


# ----------------------------------------- a repository cannot raise privileges


def _repo_with_config(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".assistant.toml").write_text(text)
    return repo


PRIVILEGED_TOML = (
    'approval = "auto-edit"\nallow_commands = true\nmodel = "/tmp/evil.gguf"\n'
    'endpoint = "http://10.0.0.1:8080"\nn_ctx = 4096\n'
)


def test_repo_config_cannot_raise_privileges_until_trusted(tmp_path: Path) -> None:
    repo = _repo_with_config(tmp_path, PRIVILEGED_TOML)
    settings = load_settings(repo, user_file=tmp_path / "none.toml", environ={})
    assert settings.approval == "ask" and settings.allow_commands is False
    assert settings.model is None and settings.endpoint is None
    assert settings.n_ctx == 4096  # harmless settings still apply
    assert len(settings.notes) == 1
    assert "allow_commands, approval, endpoint, model" in settings.notes[0]
    assert "assistant config trust" in settings.notes[0]

    set_trust(repo, True)
    settings = load_settings(repo, user_file=tmp_path / "none.toml", environ={})
    assert settings.approval == "auto-edit" and settings.allow_commands is True
    assert settings.model == "/tmp/evil.gguf" and not settings.notes

    # Trust is for the content trusted: an edit to the file needs trust again.
    (repo / ".assistant.toml").write_text(PRIVILEGED_TOML + "map_tokens = 10\n")
    settings = load_settings(repo, user_file=tmp_path / "none.toml", environ={})
    assert settings.approval == "ask" and settings.notes

    set_trust(repo, True)
    set_trust(repo, False)
    assert load_settings(repo, user_file=tmp_path / "none.toml", environ={}).approval == "ask"


def test_user_config_and_env_still_grant_privileges(tmp_path: Path) -> None:
    repo = _repo_with_config(tmp_path, 'approval = "auto-edit"\n')
    user = tmp_path / "user.toml"
    user.write_text("allow_commands = true\n")
    settings = load_settings(repo, user_file=user, environ={"ASSISTANT_APPROVAL": "read-only"})
    assert settings.allow_commands is True and settings.approval == "read-only"


def test_config_trust_command(tmp_path: Path) -> None:
    repo = _repo_with_config(tmp_path, 'approval = "auto-edit"\n')
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    run = [sys.executable, "-m", "assistant", "config"]
    proc = subprocess.run([*run, "show", "--json"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["approval"]["value"] == "ask"
    assert "ignored until you trust it" in proc.stderr
    proc = subprocess.run([*run, "trust"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0 and "trusted" in proc.stdout, proc.stderr
    proc = subprocess.run([*run, "show", "--json"], cwd=repo, capture_output=True, text=True)
    assert json.loads(proc.stdout)["approval"]["value"] == "auto-edit"


# ------------------------------------ the repo file is read like read_file reads


def test_repo_config_symlinked_outside_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text("n_ctx = 4096\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".assistant.toml").symlink_to(outside)
    settings = load_settings(repo, user_file=tmp_path / "none.toml", environ={})
    assert settings.n_ctx == 16384
    assert "outside the repository" in settings.notes[0]


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge", "hardlink"])
def test_repo_config_that_is_not_a_plain_file_is_not_read(tmp_path: Path, kind: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    target = repo / ".assistant.toml"
    if kind == "dev-zero":
        (repo / "zero").symlink_to("/dev/zero")  # inside the repo by name, a device by type
        target.symlink_to("zero")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "huge":
        target.write_text("# pad\n" * 100_000)
    else:
        outside = tmp_path / "outside.toml"
        outside.write_text("n_ctx = 4096\n")
        os.link(outside, target)
    settings = load_settings(repo, user_file=tmp_path / "none.toml", environ={})  # no hang
    assert settings.n_ctx == 16384 and "not read" in settings.notes[0]


def test_read_repo_file_refuses_dot_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git/config").write_text("[core]\n")
    (repo / "AGENTS.md").symlink_to(".git/config")
    with pytest.raises(ConfinedReadError, match=r"into \.git"):
        read_repo_file(repo, "AGENTS.md", 1000)
