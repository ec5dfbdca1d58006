"""A review cut by --timeout, with real inference (SmolLM2 on one thread) on a
real repository whose diff is far too big to finish: the summary and the JSON
say it is incomplete, count the prompt tokens the cut chunk had already
evaluated, name the chunk that was cut and the chunks never started. The hook
lets such a commit through and says so in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.review.conftest import cli_env, commit_all, git, run_cli, write

FUNCS = 300  # per file: 3 files of ~1,200 lines, dozens of chunks at --ctx 4096


def big_change(root: Path, n_files: int = 3) -> None:
    body = (
        "def func_{k}_{i}(x, y):\n    total = x * {i} + y - {k}\n    return total // (y or 1)\n\n"
    )
    files = {
        f"mod{k}.py": "".join(body.format(k=k, i=i) for i in range(FUNCS)) for k in range(n_files)
    }
    write(root, files)
    commit_all(root, "init")
    write(root, {p: t.replace("return total", "return  total") for p, t in files.items()})
    git(root, "add", "-A")


def cut_review(root: Path, model: Path, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """Review with a timeout that lands inside a chunk: short enough never to
    finish, long enough for the model to load and read a batch; doubled
    when this machine was too slow for even that."""
    for timeout in (6, 12, 24, 48):
        out = tmp_path / f"review-{timeout}.json"
        proc = run_cli(
            root,
            *("review", "--staged", "--model", str(model), "--threads", "1", "--ctx", "4096"),
            *("--timeout", str(timeout), "--format", "json", "-o", str(out), "--fail-on", "never"),
            timeout=timeout + 120,
        )
        assert proc.returncode == 0, proc.stderr
        data = json.loads(out.read_text())
        if data["summary"]["tokens"]["evaluated"] > 0:
            return data, proc.stderr
    raise AssertionError(f"no prompt batch evaluated within 48 s: {proc.stderr}")


def test_timeout_mid_chunk_counts_the_work_done(
    smollm2_path: Path, git_repo: Path, tmp_path: Path
) -> None:
    big_change(git_repo)
    data, stderr = cut_review(git_repo, smollm2_path, tmp_path)
    summary = data["summary"]
    assert summary["complete"] is False
    stopped = summary["stopped_in"]
    assert stopped["state"] in ("cut_reading_prompt", "cut_writing_answer")
    assert stopped["chunk"] in summary["incomplete_reason"]
    # The figures include the cut chunk, and add up.
    tokens = summary["tokens"]
    chunks = data["chunks"]
    assert chunks[-1] == stopped and all(c["state"] == "done" for c in chunks[:-1])
    for key in ("prompt", "cached", "evaluated", "generated"):
        assert tokens[key] == sum(c[f"{key}_tokens"] for c in chunks)
    assert 0 < tokens["evaluated"] <= tokens["prompt"] - tokens["cached"]
    assert stopped["prompt_tokens"] > 0
    assert stopped["cached_tokens"] + stopped["evaluated_tokens"] <= stopped["prompt_tokens"]
    if stopped["state"] == "cut_reading_prompt":
        assert stopped["generated_tokens"] == 0
        assert stopped["cached_tokens"] + stopped["evaluated_tokens"] < stopped["prompt_tokens"]
    # Which chunks were done, which was cut, which never started.
    assert summary["chunks"] == len(chunks) and summary["chunks_done"] == len(chunks) - 1
    assert summary["chunks_planned"] == len(chunks) + len(summary["not_started"]) > 10
    assert stopped["chunk"] not in summary["not_started"]
    assert summary["not_started"][-1].startswith("mod2.py")
    print(f"cut review: {summary['incomplete_reason']}; tokens {tokens}")
    # The summary on stderr (-o) says the same, in words.
    assert "review INCOMPLETE: " in stderr
    assert f"in {summary['chunks_done']} of {summary['chunks_planned']} chunk(s)" in stderr
    assert f"{tokens['evaluated']:,} prompt token(s) evaluated" in stderr
    assert f"stopped in {stopped['chunk']} while " in stderr
    assert "reviewed before it stopped: " in stderr
    assert f"not started: {len(summary['not_started'])} chunk(s): " in stderr
    assert "mod2.py" in stderr.split("not started:")[1]


def test_hook_lets_a_timed_out_review_through_in_one_line(
    smollm2_path: Path, git_repo: Path
) -> None:
    big_change(git_repo)
    env = cli_env(ASSISTANT_THREADS="1")
    options = ["--model", str(smollm2_path), "--timeout", "5", "--fail-on", "info"]
    install = subprocess.run(
        [sys.executable, "-m", "assistant", "hook", "install", *options],
        cwd=git_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stderr
    before = git(git_repo, "rev-parse", "HEAD").stdout
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "big change"],
        cwd=git_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert git(git_repo, "rev-parse", "HEAD").stdout != before
    lines = output.splitlines()
    warnings = [line for line in lines if line.startswith("warning: review incomplete: ")]
    assert len(warnings) == 1 and warnings[0].endswith("; commit allowed"), output
    print(f"hook: {warnings[0]}")
    assert "timed out after 5 s" in warnings[0]
    assert sum(line.startswith("review INCOMPLETE: ") for line in lines) == 1
    # Short: no per-chunk account in a commit's output.
    assert "reviewed before it stopped" not in output and "not started:" not in output


def test_a_review_that_cannot_finish_stops_early(
    smollm2_path: Path, git_repo: Path, tmp_path: Path
) -> None:
    """A loaded laptop may read at a tenth of its quiet rate: from the rate the
    first chunk is read at, the review sees that even reading the rest cannot
    fit in the timeout, and stops then, instead of spending the whole timeout
    (issue: a hook that waited 120 s on every commit and reviewed nothing).
    Six files of ~1,200 lines are ~80k prompt tokens: over 2,000 tokens/s on
    one thread would be needed to read them in 40 s."""
    body = (
        "def func_{k}_{i}(x, y):\n    total = x * {i} + y - {k}\n    return total // (y or 1)\n\n"
    )
    files = {f"mod{k}.py": "".join(body.format(k=k, i=i) for i in range(FUNCS)) for k in range(6)}
    write(git_repo, files)
    commit_all(git_repo, "init")
    write(git_repo, {p: t.replace("return total", "return  total") for p, t in files.items()})
    git(git_repo, "add", "-A")
    out = tmp_path / "review.json"
    proc = run_cli(
        git_repo,
        *("review", "--staged", "--model", str(smollm2_path), "--threads", "1", "--ctx", "4096"),
        *("--timeout", "40", "--format", "json", "-o", str(out), "--fail-on", "never"),
        timeout=200,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())["summary"]
    reason = summary["incomplete_reason"]
    assert reason.startswith("stopped early"), reason
    assert "tokens/s on this machine now" in reason and "of the 40 s timeout remain" in reason
    assert summary["not_started"], "the chunks it gave up on are named"
    assert "stopped early" in proc.stderr
