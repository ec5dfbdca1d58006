"""`assistant edit --test … --yes` end to end: a real git repo with a failing
test, real pytest, SmolLM2 doing real inference. The model's fix will usually
fail too; what is under test is the loop: the command runs, the model's next
prompt holds the failure (read from the trace), rounds are capped, the exit
code follows the last check, and --json reports every check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.trace import read_trace
from tests.agent.conftest import clean_env, make_repo

PYTEST = f"{sys.executable} -m pytest -x -q -p no:cacheprovider"
FILES = {
    "calc.py": "def add(a, b):\n    return a - b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def test_edit_runs_the_fix_loop(tmp_path: Path, smollm2_path: Path) -> None:
    root = make_repo(tmp_path / "calc", FILES)
    trace = tmp_path / "trace.jsonl"
    env = {**clean_env(), "ASSISTANT_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "edit",
            "--yes",
            "--json",
            "--test",
            PYTEST,
            "--fix-rounds",
            "1",
            "--model",
            str(smollm2_path),
            "--ctx",
            "4096",
            "--temperature",
            "0",
            "--max-tokens",
            "128",
            "--max-steps",
            "2",
            "--trace",
            str(trace),
            "Fix add so that the tests pass",
            "calc.py",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    checks = [e for e in events if e["type"] == "check"]
    assert checks, proc.stdout[-2000:] + proc.stderr[-2000:]
    for event in checks:
        assert set(event) >= {"check", "command", "exit_code", "ok", "round", "output", "timed_out"}
        assert event["check"] == "test" and event["command"] == PYTEST
        assert event["ok"] == (event["exit_code"] == 0)
    rounds = [e["round"] for e in checks]
    assert rounds == list(range(len(rounds))) and len(rounds) <= 2  # capped at --fix-rounds 1
    summary = next(e for e in events if e["type"] == "checks")
    assert summary["passed"] == checks[-1]["ok"] and summary["rounds"] == len(rounds) - 1
    assert proc.returncode == (0 if checks[-1]["ok"] else 1), proc.stderr[-2000:]
    if not checks[-1]["ok"]:
        assert "still fail" in proc.stdout and "assistant undo" in proc.stdout
    if not checks[0]["ok"]:
        # The model's next call saw the failure, as a user message.
        assert len(rounds) == 2
        engine = LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=512, n_threads=1))
        prompts = [engine.tokenizer.detokenize(e["prompt_ids"]) for e in read_trace(trace)]
        engine.close()
        seen = [p for p in prompts if "The tests fail:" in p]
        assert seen, "no model call saw the failure"
        first_line = checks[0]["output"].strip().splitlines()[-1]
        assert first_line in seen[0]
        assert "Fix the code, not the tests." in seen[0]
    # The change stays applied (--yes), and undo can revert it.
    assert subprocess.run(["git", "diff", "--quiet"], cwd=root).returncode == 1
