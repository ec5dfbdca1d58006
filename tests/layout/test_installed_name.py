"""One installed name. `tools/` and `prompts/` install as `assistant.tools`
and `assistant.prompts`, so a repository with its own `tools` or `prompts`
package cannot shadow ours: proved through the console script, `python -m
assistant` and the git hook, each run inside such a repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "raise SystemExit('the user repository package was imported')\n"


def test_wheel_installs_one_top_level_name(tmp_path: Path) -> None:
    # pip reads its own settings (index, certificates) from the real user config.
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("assistant-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["assistant"]
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "assistant"
    }
    assert "assistant/tools/registry.py" in names
    assert "assistant/prompts/system.txt" in names


@pytest.fixture
def shadowing_repo(git_repo: Path) -> Path:
    for package in ("tools", "prompts"):
        (git_repo / package).mkdir()
        (git_repo / package / "__init__.py").write_text(HOSTILE)
        (git_repo / package / "registry.py").write_text(HOSTILE)
    (git_repo / "app.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    return git_repo


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ""  # the repo's own folder must not be on the path by accident
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


def test_console_script_in_a_repo_with_its_own_tools_package(shadowing_repo: Path) -> None:
    script = shutil.which("assistant", path=str(Path(sys.executable).parent))
    assert script, "the console script is installed beside the interpreter"
    proc = _run([script, "tool", "--list"], shadowing_repo)
    assert proc.returncode == 0, proc.stderr
    assert "read_file" in proc.stdout


def test_python_dash_m_in_a_repo_with_its_own_tools_package(shadowing_repo: Path) -> None:
    # `python -m` puts the working directory first on sys.path: the worst case.
    proc = _run([sys.executable, "-m", "assistant", "tool", "--list"], shadowing_repo)
    assert proc.returncode == 0, proc.stderr
    assert "read_file" in proc.stdout and "user repository" not in proc.stderr


def test_git_hook_in_a_repo_with_its_own_tools_package(shadowing_repo: Path) -> None:
    proc = _run([sys.executable, "-m", "assistant", "hook", "install"], shadowing_repo)
    assert proc.returncode == 0, proc.stderr
    env = _env()
    env["ASSISTANT_MODEL"] = str(shadowing_repo / "no-such-model.gguf")
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "with hook"],
        cwd=shadowing_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    # No model: the hook fails open, and it ran our review, not the repo's package.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "user repository" not in proc.stdout + proc.stderr
    assert "review" in (proc.stdout + proc.stderr).lower()
