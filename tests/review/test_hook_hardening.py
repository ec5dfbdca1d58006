"""The review hook never blocks a commit it shouldn't (issue 11, section 4).

Every test installs the real hook script and runs a real `git commit` through
it, in a broken environment: a staged file that is not UTF-8 reviewed by the
real tiny Gemma 4 model, an interpreter that is gone, an assistant that
crashes on import or dies of a signal, a config error, an absurd thread count.
Only a review that decided to refuse the commit may stop it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.review import hook
from assistant.review.gitsource import GitRepo
from tests.review.conftest import canned, cli_env, finding, git
from tests.review.test_hook import ERROR_ANSWER, assistant, commit, head


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _stage_non_utf8(repo: Path) -> None:
    (repo / "latin1.py").write_bytes(b"caf\xe9 = 1\ndef f():\n    return '\xff\xfe'\n")
    git(repo, "add", "latin1.py")


def test_non_utf8_staged_file_with_the_real_model(repo: Path, tiny_gemma4_path: Path) -> None:
    """Was: UnicodeEncodeError while counting tokens, exit 1, commit refused."""
    _stage_non_utf8(repo)
    env = cli_env(ASSISTANT_MODEL=str(tiny_gemma4_path))
    fast = ["--max-answer-tokens", "8"]  # noise from a random model; keep it short
    proc = assistant(repo, "review", "--staged", "--format", "json", *fast, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # Both staged files were reviewed, the Latin-1 one included (not skipped).
    assert report["summary"]["files_reviewed"] == 2 and report["skipped"] == []
    hook.install(GitRepo(repo), ["--fail-on", "never", *fast])
    before = head(repo)
    proc = commit(repo, env)
    assert proc.returncode == 0, proc.stderr
    assert head(repo) != before
    assert "Traceback" not in proc.stderr


def test_missing_interpreter_lets_the_commit_through(repo: Path, tmp_path: Path) -> None:
    """A venv whose python is gone: the console script exists and is
    executable, but exec fails (127). Was: the commit was refused."""
    exe = _script(tmp_path / "venv/bin/assistant", "#!/no/such/venv/bin/python3\nprint(1)\n")
    hook.install(GitRepo(repo), [], command=[str(exe)])
    before = head(repo)
    proc = commit(repo, cli_env())
    assert proc.returncode == 0, proc.stderr
    assert head(repo) != before
    assert "review failed (exit 127); commit not reviewed" in proc.stderr


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # A broken install: the import fails, Python exits 1 with a traceback.
        ("import sys\nimport no_such_module_for_assistant\n", 1),
        # llama.cpp crashing (the --threads 100000 segfault): killed by SIGSEGV.
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", 139),
        # A usage/config error: exit 2.
        ("import sys\nsys.exit(2)\n", 2),
    ],
    ids=["import-error", "segfault", "usage-error"],
)
def test_broken_assistant_lets_the_commit_through(
    repo: Path, tmp_path: Path, body: str, status: int
) -> None:
    exe = _script(tmp_path / "bin/assistant", f"#!{sys.executable}\n{body}")
    hook.install(GitRepo(repo), [], command=[str(exe)])
    before = head(repo)
    proc = commit(repo, cli_env())
    assert proc.returncode == 0, proc.stderr
    assert head(repo) != before
    assert f"review failed (exit {status}); commit not reviewed" in proc.stderr


def test_strict_hook_refuses_when_the_assistant_is_broken(repo: Path, tmp_path: Path) -> None:
    exe = _script(tmp_path / "bin/assistant", f"#!{sys.executable}\nraise SystemExit(3)\n")
    hook.install(GitRepo(repo), ["--strict"], command=[str(exe)])
    before = head(repo)
    proc = commit(repo, cli_env())
    assert proc.returncode != 0 and head(repo) == before
    assert "commit refused (--strict)" in proc.stderr


def test_findings_still_block_through_the_verdict(repo: Path, tmp_path: Path) -> None:
    env = cli_env(ASSISTANT_REVIEW_REPLAY=str(canned(tmp_path, ERROR_ANSWER)))
    assert assistant(repo, "hook", "install", env=env).returncode == 0
    before = head(repo)
    proc = commit(repo, env)
    assert proc.returncode != 0 and head(repo) == before
    assert "app/store.py:15" in proc.stdout + proc.stderr
    assert "review failed" not in proc.stderr


@pytest.mark.parametrize(
    "config",
    ["n_ctx = 'lots'\n", "not toml [\n", "temperature = nan\n", "colour = 'blue'\n"],
    ids=["bad-type", "bad-toml", "nan", "unknown-key"],
)
def test_config_error_lets_the_commit_through(repo: Path, tmp_path: Path, config: str) -> None:
    """Was: exit 2 from the review, commit refused. Now the review is skipped
    with one line, through the installed hook and when run directly (the
    pre-commit framework runs it directly)."""
    (repo / ".assistant.toml").write_text(config)
    env = cli_env(ASSISTANT_MODEL=str(tmp_path / "model.gguf"))
    proc = assistant(repo, "review", "--staged", env=env)
    assert proc.returncode == 0, proc.stderr
    # By hand no talk of a commit; under the pre-commit framework (PRE_COMMIT=1) it says so.
    assert "review skipped" in proc.stderr and "commit allowed" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    framework = assistant(repo, "review", "--staged", env={**env, "PRE_COMMIT": "1"})
    assert framework.returncode == 0 and "commit allowed" in framework.stderr
    hook.install(GitRepo(repo), [])
    before = head(repo)
    proc = commit(repo, env)
    assert proc.returncode == 0, proc.stderr
    assert head(repo) != before


def test_absurd_thread_count_reviews_normally(repo: Path, tiny_gemma4_path: Path) -> None:
    """Was: `--threads 100000` made llama.cpp segfault (exit 139)."""
    env = cli_env(ASSISTANT_MODEL=str(tiny_gemma4_path))
    fast = ["--max-answer-tokens", "8"]
    proc = assistant(
        repo, "review", "--staged", "--threads", "100000", "--format", "json", *fast, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "capped at" in proc.stderr
    assert json.loads(proc.stdout)["summary"]["chunks"] >= 1
    env["ASSISTANT_THREADS"] = "100000"
    hook.install(GitRepo(repo), ["--fail-on", "never", *fast])
    before = head(repo)
    assert commit(repo, env).returncode == 0 and head(repo) != before


def test_unexpected_error_in_the_review_is_one_line_and_allows(repo: Path, tmp_path: Path) -> None:
    """A replay file that is not UTF-8 fails inside the review: one warning line, exit 0."""
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{")
    env = cli_env(ASSISTANT_REVIEW_REPLAY=str(bad))
    proc = assistant(repo, "review", "--staged", env=env)
    assert proc.returncode == 0, proc.stderr
    # Run by hand, not as a hook: a warning, without "commit allowed".
    assert proc.stderr.startswith("warning: review skipped") and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    proc = assistant(repo, "review", "--staged", "--strict", env=env)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr


def test_answer_cut_at_the_token_limit_is_incomplete(repo: Path, tmp_path: Path) -> None:
    """A findings list cut mid-item: the complete finding is kept, the review
    says it is incomplete (it was reported `complete: true`)."""
    whole = json.dumps(finding("app/store.py", 15, "warning", message="empty key"))
    cut = '{"findings": [' + whole + ', {"file": "app/store.py", "line": 1'
    env = cli_env(ASSISTANT_REVIEW_REPLAY=str(canned(tmp_path, cut)))
    proc = assistant(repo, "review", "--staged", "--format", "json", env=env)
    report = json.loads(proc.stdout)
    assert report["summary"]["complete"] is False, report["summary"]
    assert "cut at the" in report["summary"]["incomplete_reason"]
    assert len(report["findings"]) == 1
    assert report["summary"]["stopped_in"] is None and report["summary"]["not_started"] == []
    assert proc.returncode == 0
    proc = assistant(repo, "review", "--staged", "--strict", env=env)
    assert proc.returncode == 1
    # Every chunk was reviewed; only an answer was cut: no "before it stopped".
    assert "review INCOMPLETE: 1 finding(s) (1 warning) in 1 of 1 chunk(s)" in proc.stdout
    assert "reviewed: app/store.py" in proc.stdout and "before it stopped" not in proc.stdout


def test_answer_cut_by_max_tokens_with_the_real_model(repo: Path, tiny_gemma4_path: Path) -> None:
    """Real inference: 3 answer tokens cannot hold a findings object."""
    env = cli_env(ASSISTANT_MODEL=str(tiny_gemma4_path))
    proc = assistant(
        repo, "review", "--staged", "--format", "json", "--max-answer-tokens", "3", env=env
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert (
        summary["complete"] is False and "cut at the 3-token limit" in summary["incomplete_reason"]
    )


# ------------------------------------------------------ shared hooks directories


def test_install_refuses_a_hooks_path_inside_the_work_tree(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    env = cli_env()
    proc = assistant(repo, "hook", "install", env=env)
    assert proc.returncode == 2
    assert "usually committed" in proc.stderr and "--force" in proc.stderr
    assert ".githooks/pre-commit" in proc.stderr
    assert not (repo / ".githooks").exists()
    proc = assistant(repo, "hook", "install", "--force", env=env)
    assert proc.returncode == 0, proc.stderr
    assert hook.MARKER in (repo / ".githooks/pre-commit").read_text()


def test_install_refuses_a_global_hooks_path(repo: Path, tmp_path: Path) -> None:
    global_config = tmp_path / "gitconfig"
    shared = tmp_path / "shared-hooks"
    global_config.write_text(f"[core]\n\thooksPath = {shared}\n")
    env = cli_env(GIT_CONFIG_GLOBAL=str(global_config))
    proc = assistant(repo, "hook", "install", env=env)
    assert proc.returncode == 2
    assert "global git config" in proc.stderr and "every repository" in proc.stderr
    assert not shared.exists()
    assert assistant(repo, "hook", "install", "--force", env=env).returncode == 0
    assert hook.MARKER in (shared / "pre-commit").read_text()


def test_install_in_the_ordinary_hooks_dir_needs_no_force(repo: Path) -> None:
    proc = assistant(repo, "hook", "install", env=cli_env())
    assert proc.returncode == 0, proc.stderr
    # A local core.hooksPath inside .git is still private to this clone.
    git(repo, "config", "core.hooksPath", ".git/my-hooks")
    assert assistant(repo, "hook", "install", env=cli_env()).returncode == 0


def test_status_reads_the_command_of_the_new_script(repo: Path) -> None:
    state = hook.install(GitRepo(repo), ["--fail-on", "warning"])
    assert state.command is not None and "review --staged --fail-on warning" in state.command
    assert subprocess.run(["sh", "-n", str(state.path)]).returncode == 0


def _with_template(source: Path, target: Path, template: str) -> Path:
    """A copy of a GGUF with another chat template (tensors copied as they are)."""
    import gguf

    reader = gguf.GGUFReader(source)
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(target), arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        vtype = gguf.GGUFValueType(field.types[0])
        value = template if field.name == "tokenizer.chat_template" else field.contents()
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = gguf.GGUFValueType(field.types[1])
            writer.add_key_value(field.name, value, vtype, sub_type=sub)
        else:
            writer.add_key_value(field.name, value, vtype)
    for tensor in reader.tensors:
        shape = list(reversed([int(x) for x in tensor.shape]))
        writer.add_tensor(tensor.name, tensor.data, raw_shape=shape, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def test_chat_template_that_raises_lets_the_commit_through(
    repo: Path, tiny_gemma4_path: Path, tmp_path: Path
) -> None:
    """The tiny Gemma 4 with a template that raises a TypeError when rendered.
    Was: the TypeError escaped the review (exit 1) and the commit was refused."""
    model = _with_template(
        tiny_gemma4_path, tmp_path / "bad-template.gguf", "{{ messages[0]['content'] + 1 }}"
    )
    env = cli_env(ASSISTANT_MODEL=str(model))
    hook.install(GitRepo(repo), ["--max-answer-tokens", "4"])
    before = head(repo)
    proc = commit(repo, env)
    assert proc.returncode == 0, proc.stderr
    assert head(repo) != before
    assert "commit allowed" in proc.stderr or "commit not reviewed" in proc.stderr
    assert "Traceback" not in proc.stderr
