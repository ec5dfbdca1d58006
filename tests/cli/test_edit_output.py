"""What `assistant edit` prints when its output is not a terminal (issue 21:
items 1, 2 and 6), run as the issue's new user ran it: a real `assistant`
subprocess in a real git repository with three pytest tests, SmolLM2 doing
real inference at temperature 0 on one thread, real pytest as `--test`.

On this setup SmolLM2 replaces calc/ops.py with its own path (pytest then
fails to collect the tests, every round) and writes a `<tool_response>` block
of its own as plain text: the issue's run, reproduced."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.trace import read_trace
from tests.agent.conftest import clean_env, make_repo

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
FILES = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a + b\n",
    "tests/test_ops.py": (
        "from calc.ops import add\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_add_neg():\n    assert add(-1, 1) == 0\n\n\n"
        "def test_add_zero():\n    assert add(0, 0) == 0\n"
    ),
}
INSTRUCTION = "Add a function sub(a, b) that subtracts"


def _edit(root: Path, model: Path, *args: str) -> subprocess.CompletedProcess[str]:
    model_args = ["--model", str(model), "--threads", "1", "--temperature", "0"]
    return subprocess.run(
        [sys.executable, "-m", "assistant", "edit", *model_args, *args, INSTRUCTION, "calc/ops.py"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_edit_stdout_progress_and_fix_rounds(tmp_path: Path, smollm2_path: Path) -> None:
    root = make_repo(tmp_path / "calc", FILES)
    trace = tmp_path / "trace.jsonl"
    proc = _edit(root, smollm2_path, "--yes", "--test", PYTEST, "--trace", str(trace))
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 1, err[-3000:]  # the tests still fail after the rounds

    # (1) stdout holds what README says (with --yes: nothing; the model's words,
    # tool lines, checks and notices are on stderr). The model's imitation of a
    # tool result is a notice, not answer text, anywhere.
    assert out == "", out[-2000:]
    assert "<tool_response>{" not in err and "</tool_response>" not in err
    assert "the model wrote a tool result itself" in err, err[-3000:]

    # (2) One line per round for the user, the failure's output once.
    rounds = re.findall(r"^warning: ✗ round (\d)/3: .*: (.*)$", err, re.MULTILINE)
    assert [r[0] for r in rounds] == ["1", "2", "3"], err[-3000:]
    assert all(r[1] == "1 error (tests/test_ops.py)" for r in rounds), rounds
    assert err.count("ERROR collecting tests/test_ops.py") == 1, err[-3000:]
    # ... while the model is shown the whole failure every round.
    engine = LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=512, n_threads=1))
    prompts = [engine.tokenizer.detokenize(e["prompt_ids"]) for e in read_trace(trace)]  # type: ignore[arg-type]
    engine.close()
    fixes = [p for p in prompts if "The tests fail:" in p]
    shown = {p.count("ERROR collecting tests/test_ops.py") for p in fixes}
    assert fixes and min(shown) >= 1

    # (6) A line on stderr as each model step starts: a script's log shows life.
    footers = [int(n) for n in re.findall(r" · (\d+) steps?$", err, re.MULTILINE)]
    started = re.findall(r"^step (\d+): reading [\d,]+ new tokens…$", err, re.MULTILINE)
    assert len(started) == sum(footers) and started[:2] == ["1", "2"], err[-3000:]
    assert "step 1: write_file calc/ops.py…" in err


def test_edit_dry_run_stdout_is_the_patch_alone(tmp_path: Path, smollm2_path: Path) -> None:
    """Without --yes, stdout is the combined diff and nothing else: `git apply`
    takes it as it is."""
    root = make_repo(tmp_path / "calc", FILES)
    proc = _edit(root, smollm2_path, "--max-steps", "1")
    assert proc.stdout.startswith("--- a/calc/ops.py\n"), proc.stdout[:500] + proc.stderr[-2000:]
    assert "dry run: nothing was changed" in proc.stderr
    patch = tmp_path / "change.patch"
    patch.write_text(proc.stdout)
    check = subprocess.run(["git", "apply", "--check", str(patch)], cwd=root, capture_output=True)
    assert check.returncode == 0, check.stderr
