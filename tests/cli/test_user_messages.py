"""What a new user reads from `edit`, `config show`, `model list` and
`edit --help` (issue 21, items 5, 7, 8 and 9; issue 22's endpoint password):
real `assistant` subprocesses in real git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from assistant.agent.runtime import engine_config
from assistant.config import load_settings
from assistant.llm import hardware
from assistant.llm.llama import LlamaEngine
from tests.agent.conftest import clean_env, make_repo

ENGINE_ENV = ("ASSISTANT_THREADS", "ASSISTANT_CTX", "ASSISTANT_KV_TYPE")
FILES = {"calc/ops.py": "def add(a, b):\n    return a + b\n"}


def run(
    root: Path, *args: str, env: dict[str, str] | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    full = {**clean_env(), "COLUMNS": str(columns), "NO_COLOR": "1", **(env or {})}
    for name in ENGINE_ENV:  # the defaults are under test, not this machine's settings
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=root,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_file_gets_a_message_for_the_user(tmp_path: Path) -> None:
    """(5) `edit "x" nope.py` said `…; use list_files or search to find the
    right path.`, advice written for the model. The user now reads what chat's
    `/add nope.py` says."""
    root = make_repo(tmp_path / "r", FILES)
    for args in (("edit", "x", "nope.py"), ("ask", "--files", "nope.py", "x")):
        proc = run(root, *args)
        assert proc.returncode == 2, proc.stderr
        assert f"nope.py: no such file in {root}" in proc.stderr
        assert "list_files" not in proc.stderr and "search" not in proc.stderr
    # Other refusals keep their fact and lose the model's advice.
    proc = run(root, "edit", "x", ".git/config")
    assert proc.returncode == 2 and "inside a git directory" in proc.stderr
    assert "git_status" not in proc.stderr


def test_config_show_gives_the_values_the_run_uses(tmp_path: Path, smollm2_path: Path) -> None:
    """(7) `config show` said n_ctx 16384 while the run used the model's 8,192,
    and kv_type/threads `(unset)`. The effective values are beside the
    configured ones, computed by the code the load runs (checked here against
    a real load of the same settings)."""
    root = make_repo(tmp_path / "r", FILES)
    env = {"ASSISTANT_MODEL": str(smollm2_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = run(root, "config", "show", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["n_ctx"]["value"] == 16384 and shown["n_ctx"]["effective"] == 8192
    assert shown["kv_type"]["value"] is None and shown["kv_type"]["effective"] == "f16"
    assert shown["threads"]["value"] is None and isinstance(shown["threads"]["effective"], int)

    saved = dict(os.environ)
    os.environ.update(env)
    for name in ENGINE_ENV:
        os.environ.pop(name, None)
    try:
        settings = load_settings(root)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    engine = LlamaEngine.load(smollm2_path, replace(engine_config(settings), prefix_cache_dir=None))
    try:
        assert engine.n_ctx == shown["n_ctx"]["effective"]
        # Unset, threads follow the cores free at that moment (llm/hardware.py),
        # so the two readings agree on the range, not on one machine-load sample.
        cores = hardware.default_cores()
        assert 1 <= shown["threads"]["effective"] <= cores
        assert 1 <= engine.threads <= cores
    finally:
        engine.close()

    table = run(root, "config", "show", env=env).stdout
    row = next(line for line in table.splitlines() if " n_ctx " in line)
    assert [c.strip() for c in row.strip("│┃ ").split("│")][:3] == ["n_ctx", "16384", "8192"]
    row = next(line for line in table.splitlines() if " kv_type " in line)
    assert '"f16"' in row and "(unset)" in row


def test_config_show_hides_the_endpoint_password(tmp_path: Path) -> None:
    """(issue 22) a password in the endpoint URL was printed in full by
    `config show`; it is shown as every other message shows the URL."""
    root = make_repo(tmp_path / "r", FILES)
    url = "http://alice:s3cret-PASS@127.0.0.1:8080/"
    env = {"ASSISTANT_ENDPOINT": url, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    table = run(root, "config", "show", env=env)
    as_json = run(root, "config", "show", "--json", env=env)
    for proc in (table, as_json):
        assert proc.returncode == 0, proc.stderr
        assert "s3cret-PASS" not in proc.stdout + proc.stderr
        assert "alice" not in proc.stdout
    assert json.loads(as_json.stdout)["endpoint"]["value"] == "http://127.0.0.1:8080"
    assert '"http://127.0.0.1:8080"' in table.stdout


def test_model_list_shows_the_model_from_the_environment(
    tmp_path: Path, smollm2_path: Path
) -> None:
    """(8) `model list` said "no models … pass --model PATH" while
    ASSISTANT_MODEL pointed at one."""
    root = make_repo(tmp_path / "r", FILES)
    env = {"ASSISTANT_CACHE_DIR": str(tmp_path / "cache"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    proc = run(root, "model", "list", env={**env, "ASSISTANT_MODEL": str(smollm2_path)})
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"model in use: {smollm2_path} (from ASSISTANT_MODEL")
    assert "pass --model PATH" not in proc.stdout
    missing = run(root, "model", "list", env={**env, "ASSISTANT_MODEL": str(tmp_path / "x.gguf")})
    assert "the file is missing" in missing.stdout.splitlines()[0]


def test_fix_rounds_help_shows_its_default(tmp_path: Path) -> None:
    """(9) `edit --help` showed `--fix-rounds` as "failed check ." (Rich ate
    the `[default: 2]`)."""
    proc = run(tmp_path, "edit", "--help", columns=120)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.replace("│", " ").split())  # the help is drawn in a box
    assert "failed check (default: 2, setting fix_rounds)." in text
    assert "failed check ." not in text
