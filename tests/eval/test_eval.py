"""`assistant eval`: the harness, not the model. Suite loading in the aider
polyglot layout, the sandboxed test run (timeout, crash, no network, capped
output), scoring that a task cannot fool, and a real run on the tiny Gemma 4
model (fresh repo per task, second try sees the test output, complete
results file, resume, compare).

The layout is that of github.com/Aider-AI/polyglot-benchmark, Python track:
python/exercises/practice/<slug>/ with .docs/instructions.md (+
introduction.md, instructions.append.md), <slug>.py, <slug>_test.py and
.meta/config.json, e.g. for python/bowling:
{"files": {"solution": ["bowling.py"], "test": ["bowling_test.py"],
"example": [".meta/example.py"]}} (seen in published loaders of that
repository; the repository itself is not reachable from here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.agent.runtime import ModelOptions
from assistant.config import load_settings
from assistant.errors import UsageError
from assistant.eval.results import TaskResult, load_run, summarize
from assistant.eval.runner import RunConfig, effective_jobs, pending, prepare_repo, run_task
from assistant.eval.suite import load_suite, load_task, suite_root
from assistant.eval.testrun import OUTPUT_CHARS, TestStatus, run_tests
from assistant.llm.scripted import ScriptedEngine
from tests.agent.conftest import call, clean_env, git

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "evals"
SANITY = Path(__file__).parent / "sanity"


# ---------------------------------------------------------------- suite


def test_the_shipped_suite_loads_in_the_polyglot_layout() -> None:
    tasks = load_suite(EXAMPLES)
    slugs = [t.slug for t in tasks]
    assert len(tasks) == 10 and slugs == sorted(slugs)
    leap = next(t for t in tasks if t.slug == "leap")
    assert leap.solution == ("leap.py",) and leap.tests == ("leap_test.py",)
    assert leap.example == (".meta/example.py",)
    assert "leap year" in leap.instructions
    two = next(t for t in tasks if t.slug == "two_files")
    assert two.solution == ("greeting.py", "names.py")


def test_a_benchmark_checkout_root_finds_python_practice(tmp_path: Path) -> None:
    practice = tmp_path / "python" / "exercises" / "practice"
    shutil.copytree(EXAMPLES / "leap", practice / "leap")
    (practice / "leap" / ".docs" / "introduction.md").write_text("Intro first.\n")
    (practice / "leap" / ".docs" / "instructions.append.md").write_text("Appended last.\n")
    assert suite_root(tmp_path) == practice
    [task] = load_suite(tmp_path)
    text = task.instructions
    assert text.index("Intro first.") < text.index("leap year") < text.index("Appended last.")


def test_a_bad_task_config_is_one_clear_error(tmp_path: Path) -> None:
    task = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "leap", task)
    (task / ".meta" / "config.json").write_text('{"files": {"solution": ["../../etc/passwd"]}}')
    with pytest.raises(UsageError, match=r"config\.json"):
        load_task(task)
    with pytest.raises(UsageError, match=r"no tasks"):
        load_suite(tmp_path / "nothing")


@pytest.mark.parametrize("task", load_suite(EXAMPLES), ids=lambda t: t.slug)
def test_every_shipped_stub_fails_and_its_reference_passes(task, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stub = prepare_repo(task, tmp_path / "stub")
    assert not run_tests(stub, task.tests).passed
    solved = prepare_repo(task, tmp_path / "solved")
    for solution, example in zip(task.solution, task.example, strict=True):
        shutil.copyfile(task.directory / example, solved / solution)
    run = run_tests(solved, task.tests)
    assert run.passed, run.output


# ---------------------------------------------------------------- repos and tests


def test_a_task_repo_is_fresh_and_holds_no_answer(tmp_path: Path) -> None:
    [task] = [t for t in load_suite(EXAMPLES) if t.slug == "find_rate"]
    repo = prepare_repo(task, tmp_path / "r")
    files = set(git(repo, "ls-files").split())
    assert files == {"pricing.py", "pricing_test.py", "config/__init__.py", "config/settings.py"}
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert not (repo / ".meta").exists() and not (repo / ".docs").exists()


def test_a_hanging_task_times_out_and_its_group_is_killed(tmp_path: Path) -> None:
    task = load_task(SANITY / "hangs")
    repo = prepare_repo(task, tmp_path / "r")
    start = time.monotonic()
    run = run_tests(repo, task.tests, timeout=3)
    assert run.status is TestStatus.TIMEOUT and not run.passed
    assert time.monotonic() - start < 30
    assert "did not finish within 3 s" in run.output


def test_a_crash_a_network_call_and_a_flood_are_failures(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "crash_test.py").write_text("import os\n\ndef test_crash():\n    os.abort()\n")
    crashed = run_tests(repo, ("crash_test.py",), timeout=60)
    assert crashed.status is TestStatus.CRASHED and "signal" in crashed.output
    (repo / "net_test.py").write_text(
        "import socket\n\ndef test_net():\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=5)\n"
    )
    net = run_tests(repo, ("net_test.py",), timeout=60)
    assert net.status is TestStatus.FAILED
    assert "network access is disabled in eval tests" in net.output
    (repo / "flood_test.py").write_text(
        "def test_flood():\n    print('x' * 2_000_000)\n    assert False\n"
    )
    flood = run_tests(repo, ("flood_test.py",), timeout=60)
    assert flood.status is TestStatus.FAILED
    assert len(flood.output) < OUTPUT_CHARS + 200 and "characters cut" in flood.output


# ---------------------------------------------------------------- scoring


def _scripted_run(scripted: ScriptedEngine, task_dir: Path, *turns: str) -> TaskResult:
    scripted.add_text(*turns)
    settings = load_settings(None, {})
    opts = ModelOptions(max_steps=2, max_tokens=512)
    return run_task(load_task(task_dir), scripted, settings, opts, RunConfig(tries=1))  # type: ignore[arg-type]


def test_sanity_a_stub_that_already_passes_scores_one(scripted: ScriptedEngine) -> None:
    # The model (scripted: exact ids of the Gemma 4 call syntax) rewrites the
    # stub unchanged and finishes; the task's own tests decide.
    result = _scripted_run(
        scripted,
        SANITY / "already_passes",
        call("write_file", path="already_passes.py", content="def double(x):\n    return x * 2\n"),
        "Done.<turn|>",
    )
    assert result.pass1 and summarize([result]).pass1 == 1.0
    assert result.tries[0].well_formed == result.tries[0].tool_calls == 1


def test_sanity_a_broken_test_scores_zero_even_when_the_model_edits_it(
    scripted: ScriptedEngine,
) -> None:
    # The model "fixes" the test instead of the code: the suite's test file
    # is put back before scoring, so the task still fails.
    result = _scripted_run(
        scripted,
        SANITY / "broken_test",
        call("write_file", path="broken_test_test.py", content="def test_ok():\n    pass\n"),
        "Done.<turn|>",
    )
    assert not result.pass1 and summarize([result]).pass1 == 0.0
    assert result.tries[0].test_status == "failed"


def test_pending_and_jobs() -> None:
    tasks = load_suite(EXAMPLES)
    assert [t.slug for t in pending(tasks, {"average"}, 3)] == ["clamp", "find_rate"]
    settings = load_settings(None, {})
    assert effective_jobs(4, settings) == 1  # in-process: one task at a time


# ---------------------------------------------------------------- real inference


def _eval(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "eval", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


FAST = ["--ctx", "3072", "--max-tokens", "32", "--max-steps", "1", "--temperature", "0"]


def test_a_real_run_records_retries_resumes_and_compares(
    tmp_path: Path, tiny_gemma4_path: Path
) -> None:
    from assistant.llm.trace import read_trace

    results, trace = tmp_path / "results.json", tmp_path / "trace.jsonl"
    model = ["--model", str(tiny_gemma4_path), *FAST]
    common = ["--suite", str(EXAMPLES), "--tries", "2", *model]
    first = _eval(
        tmp_path,
        "run",
        *common,
        "--limit",
        "1",
        "-o",
        str(results),
        "--trace",
        str(trace),
        "-j",
        "3",
    )
    assert first.returncode == 0, first.stderr
    assert "-j needs --endpoint" in first.stderr
    assert "pass@1" in first.stdout and "average" in first.stdout
    data = json.loads(results.read_text())
    [task] = data["tasks"]
    assert (
        task["slug"] == "average" and not task["pass1"]
    )  # the stub fails; a random model will not fix it
    assert len(task["tries"]) == 2  # the failing first try got a second one
    for key in (
        "well_formed",
        "tool_calls",
        "failed_edits",
        "tokens_in",
        "tokens_out",
        "seconds",
        "tokens_per_second",
        "outcome",
    ):
        assert key in task
    assert task["tokens_out"] > 0 and task["outcome"] in (
        "done",
        "step_limit",
        "context_full",
        "repeated",
        "empty",
        "truncated",
    )
    assert data["summary"]["tasks"] == 1 and data["model"] == str(tiny_gemma4_path)

    # The second try's prompt holds the first try's test output.
    engine = ScriptedEngine.from_vocab(tiny_gemma4_path)
    prompts = [engine.tokenizer.detokenize(e["prompt_ids"]) for e in read_trace(trace)]  # type: ignore[arg-type]
    failure = task["tries"][0]["test_output"].splitlines()[-1]
    assert failure and any("The tests failed" in p and failure in p for p in prompts)

    # Resume: the finished task is skipped, the next one runs.
    second = _eval(tmp_path, "run", *common, "--limit", "2", "--resume", str(results), "--json")
    assert second.returncode == 0, second.stderr
    lines = [json.loads(line) for line in second.stdout.splitlines()]
    assert [line["slug"] for line in lines if line["type"] == "task"] == ["clamp"]
    assert lines[-1]["type"] == "summary" and lines[-1]["tasks"] == 2
    assert [t["slug"] for t in json.loads(results.read_text())["tasks"]] == ["average", "clamp"]

    # Compare shows both runs, task by task.
    older = tmp_path / "older.json"
    older.write_text(json.dumps({**data, "model": "other.gguf"}))
    compared = _eval(tmp_path, "compare", str(older), str(results))
    assert compared.returncode == 0, compared.stderr
    out = compared.stdout
    assert "older.json" in out and "results.json" in out and "clamp" in out and "average" in out
    assert load_run(results).results[1].slug == "clamp"
    assert os.listdir(tmp_path)  # nothing else to check: the temp repos are gone with their dirs


def test_an_error_is_shown_as_text_in_the_table() -> None:
    """A task's error can quote the model or a test's output: brackets are not
    Rich markup and an escape sequence is shown, not obeyed."""
    import io

    from rich.console import Console

    from assistant.cli.eval import results_table
    from assistant.eval.results import TaskResult

    out = io.StringIO()
    error = "bad [bold]markup[/] \x1b[2J here"
    Console(file=out, width=200, force_terminal=True).print(
        results_table([TaskResult("task[1]", error=error)], 1, "eval")
    )
    shown = out.getvalue()
    assert "[bold]markup[/]" in shown and "task[1]" in shown
    assert "\x1b[2J" not in shown and "␛[2J" in shown
