"""The git hook and the pre-commit framework, driven by real `git commit` and
`pre-commit run`. The model's answer is replayed from a file (the hook is
under test, not the model): ASSISTANT_REVIEW_REPLAY is the documented seam."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.review import hook
from assistant.review.gitsource import GitRepo
from tests.review.conftest import MAIN, canned, cli_env, finding, git

ERROR_ANSWER = {"findings": [finding("app/store.py", 15, "error", message="empty key")]}
OLD_HOOK = """#!/bin/sh
echo "old hook ran" >> "$(git rev-parse --git-dir)/old-hook.log"
exit ${OLD_HOOK_EXIT:-0}
"""


def assistant(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI entry point, as the installed hook calls it."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def commit(root: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", "-m", "change", *extra],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def replay_env(tmp_path: Path) -> dict[str, str]:
    return cli_env(ASSISTANT_REVIEW_REPLAY=str(canned(tmp_path, ERROR_ANSWER)))


def test_installed_hook_refuses_a_commit_with_an_error_finding(
    repo: Path, replay_env: dict[str, str]
) -> None:
    proc = assistant(repo, "hook", "install", "--fail-on", "error", env=replay_env)
    assert proc.returncode == 0, proc.stderr
    assert "installed" in proc.stdout
    script = (repo / ".git/hooks/pre-commit").read_text()
    assert hook.MARKER in script and "review --staged --fail-on error" in script
    before = head(repo)
    proc = commit(repo, replay_env)
    assert proc.returncode != 0
    assert "app/store.py:15" in proc.stdout + proc.stderr
    assert head(repo) == before
    # --no-verify skips the hook as usual.
    assert commit(repo, replay_env, "--no-verify").returncode == 0
    assert head(repo) != before


def test_fail_on_never_lets_the_commit_through(repo: Path, replay_env: dict[str, str]) -> None:
    assert assistant(repo, "hook", "install", "--fail-on", "never", env=replay_env).returncode == 0
    before = head(repo)
    proc = commit(repo, replay_env)
    assert proc.returncode == 0, proc.stderr
    assert head(repo) != before
    assert "empty key" in proc.stdout + proc.stderr  # still reported


def test_missing_model_warns_and_commits(repo: Path, tmp_path: Path) -> None:
    env = cli_env(ASSISTANT_MODEL=str(tmp_path / "no-such-model.gguf"))
    assert assistant(repo, "hook", "install", env=env).returncode == 0
    proc = commit(repo, env)
    assert proc.returncode == 0, proc.stderr
    assert "review skipped" in proc.stderr


def test_existing_hook_is_chained_and_restored(repo: Path, replay_env: dict[str, str]) -> None:
    original = repo / ".git/hooks/pre-commit"
    original.write_text(OLD_HOOK)
    original.chmod(0o755)
    state = hook.install(GitRepo(repo), ["--fail-on", "never"])
    assert state.state is hook.HookState.INSTALLED and state.chained is not None
    # Installing again updates in place and never chains itself.
    state = hook.install(GitRepo(repo), ["--fail-on", "never"])
    assert hook.MARKER not in state.chained.read_text()  # type: ignore[union-attr]

    assert commit(repo, replay_env).returncode == 0
    assert (repo / ".git/old-hook.log").read_text() == "old hook ran\n"

    # A failing earlier hook still stops the commit, before the review runs.
    (repo / "x.txt").write_text("x\n")
    git(repo, "add", "x.txt")
    proc = commit(repo, dict(replay_env, OLD_HOOK_EXIT="1"))
    assert proc.returncode != 0 and "empty key" not in proc.stdout + proc.stderr

    state = hook.uninstall(GitRepo(repo))
    assert state.state is hook.HookState.FOREIGN
    assert original.read_text() == OLD_HOOK and os.access(original, os.X_OK)
    assert not (repo / ".git/hooks" / hook.CHAINED_NAME).exists()


def test_status_and_uninstall_cli(repo: Path, replay_env: dict[str, str]) -> None:
    assert "not installed" in assistant(repo, "hook", "status", env=replay_env).stdout
    assistant(repo, "hook", "install", env=replay_env)
    out = assistant(repo, "hook", "status", env=replay_env).stdout
    assert "pre-commit hook: installed" in out and "review --staged" in out
    removed = assistant(repo, "hook", "uninstall", env=replay_env).stdout
    assert "removed the assistant pre-commit hook" in removed and "not installed" not in removed
    assert not (repo / ".git/hooks/pre-commit").exists()
    # Another tool's hook is never removed.
    other = repo / ".git/hooks/pre-commit"
    other.write_text("#!/bin/sh\nexit 0\n")
    proc = assistant(repo, "hook", "uninstall", env=replay_env)
    assert proc.returncode != 0 and other.exists()


def test_core_hooks_path_is_honoured(repo: Path, replay_env: dict[str, str]) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    state = hook.install(GitRepo(repo), ["--fail-on", "error"], force=True)
    assert state.path == repo / ".githooks" / "pre-commit"
    assert commit(repo, replay_env).returncode != 0


def test_hook_script_falls_back_when_the_command_is_gone(repo: Path, tmp_path: Path) -> None:
    hook.install(GitRepo(repo), [], command=[str(tmp_path / "uninstalled" / "assistant")])
    proc = commit(repo, cli_env())
    assert proc.returncode == 0 and "commit not reviewed" in proc.stderr


def test_default_command_is_absolute() -> None:
    command = hook.default_command()
    assert Path(command[0]).is_absolute()
    assert command[1:] in ([], ["-m", "assistant"])


# ------------------------------------------------------------ pre-commit framework


def _pre_commit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    return subprocess.run(
        [exe, *args], cwd=root, env=env, capture_output=True, text=True, timeout=240
    )


def _framework_env(tmp_path: Path, replay: Path) -> dict[str, str]:
    """`assistant` on PATH as a shim for this checkout (pre-commit's `system`
    language runs whatever is on PATH), and a private pre-commit home."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "assistant"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m assistant "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = cli_env(ASSISTANT_REVIEW_REPLAY=str(replay), PRE_COMMIT_HOME=str(tmp_path / "pch"))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def test_pre_commit_framework_with_the_example_config(repo: Path, tmp_path: Path) -> None:
    shutil.copy(MAIN / "examples/pre-commit-config.yaml", repo / ".pre-commit-config.yaml")
    git(repo, "add", ".pre-commit-config.yaml")
    env = _framework_env(tmp_path, canned(tmp_path, ERROR_ANSWER))
    proc = _pre_commit(repo, env, "run", "assistant-review")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Failed" in proc.stdout and "app/store.py:15" in proc.stdout
    ok_env = _framework_env(tmp_path / "ok", canned(tmp_path, {"findings": []}, name="none.json"))
    proc = _pre_commit(repo, ok_env, "run", "assistant-review")
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc.stdout + proc.stderr


def test_pre_commit_framework_with_this_repos_hook_manifest(repo: Path, tmp_path: Path) -> None:
    """A path repo holding this project's .pre-commit-hooks.yaml, as `repo:`."""
    hooks_repo = tmp_path / "hooks-repo"
    hooks_repo.mkdir()
    git(hooks_repo, "init", "-q", "-b", "main")
    shutil.copy(MAIN / ".pre-commit-hooks.yaml", hooks_repo / ".pre-commit-hooks.yaml")
    git(hooks_repo, "add", "-A")
    git(hooks_repo, "commit", "-q", "--no-verify", "-m", "hooks")
    rev = head(hooks_repo)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n      - id: assistant-review\n"
    )
    git(repo, "add", ".pre-commit-config.yaml")
    env = _framework_env(tmp_path, canned(tmp_path, ERROR_ANSWER))
    proc = _pre_commit(repo, env, "run", "assistant-review")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "app/store.py:15" in proc.stdout
    # Installed as the git hook by pre-commit itself, a real commit is refused too.
    assert _pre_commit(repo, env, "install").returncode == 0
    before = head(repo)
    assert commit(repo, env).returncode != 0 and head(repo) == before


def test_commit_all_reviews_the_temporary_index(repo: Path, replay_env: dict[str, str]) -> None:
    """`git commit -a` hands the hook a temporary index (GIT_INDEX_FILE)."""
    git(repo, "reset", "-q")  # the change is now unstaged
    hook.install(GitRepo(repo), ["--fail-on", "error"])
    before = head(repo)
    proc = commit(repo, replay_env, "-a")
    assert proc.returncode != 0 and "app/store.py:15" in proc.stdout + proc.stderr
    assert head(repo) == before


def test_uninstall_says_what_it_removed_and_restored(
    repo: Path, replay_env: dict[str, str]
) -> None:
    """Issue 21 (4): after a real install, `hook uninstall` printed `pre-commit
    hook: not installed (…)`, the words for "there was nothing to remove". Now
    it names what it removed and what it put back; a commit then runs the
    restored hook and no review, and a second uninstall says nothing was there."""
    original = repo / ".git/hooks/pre-commit"
    original.write_text(OLD_HOOK)
    original.chmod(0o755)
    installed = assistant(repo, "hook", "install", "--fail-on", "error", env=replay_env)
    assert installed.returncode == 0, installed.stderr
    log = repo / ".git/old-hook.log"
    refused = commit(repo, replay_env)  # through the installed hook: the review refuses
    assert refused.returncode != 0 and "empty key" in refused.stdout + refused.stderr
    assert log.read_text() == "old hook ran\n"

    proc = assistant(repo, "hook", "uninstall", env=replay_env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"removed the assistant pre-commit hook ({original})"
    chained = original.parent / hook.CHAINED_NAME
    assert lines[1] == f"restored the earlier pre-commit hook it had kept ({chained} -> {original})"
    assert "not installed" not in proc.stdout
    assert original.read_text() == OLD_HOOK

    done = commit(repo, replay_env)  # the restored hook runs; the review does not
    assert done.returncode == 0, done.stderr
    assert "empty key" not in done.stdout + done.stderr
    assert log.read_text() == "old hook ran\n" * 2

    original.unlink()
    again = assistant(repo, "hook", "uninstall", env=replay_env)
    assert again.returncode == 0
    assert again.stdout.startswith("nothing to remove: no assistant pre-commit hook in")
