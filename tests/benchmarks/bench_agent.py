"""Agent benchmark with SmolLM2 on the demo repo (a script, not a test):

    python -m tests.benchmarks.bench_agent [--model PATH] [--threads N]

Prints
- time to first token (TTFT) of turn 1 and turn 3 of one chat session
  (turn 3 evaluates only its new tokens: the KV cache holds the rest);
- TTFT of a first and a second `assistant ask` process (the second restores
  the system prompt and repo context from the disk prefix cache);
- generation speed through the whole agent stack against bare llama-cpp-python.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox

from assistant.agent.context import repo_context, system_text
from assistant.agent.loop import Agent, AgentConfig, ToolStep
from assistant.agent.session import Session
from assistant.events import AgentEvent, TextDelta, ThoughtDelta, ToolCall
from assistant.llm.engine import SamplingParams
from assistant.llm.hardware import physical_cores
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.protocols import ToolChoice, ToolChoiceMode, make_protocol

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-repo"
QUESTIONS = ("What is this project?", "Which file saves the tasks?", "How are tasks sorted?")
SPEED_TOKENS = 128


def demo_copy(base: Path) -> Path:
    repo = base / "demo"
    shutil.copytree(DEMO, repo, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


class FirstToken:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ttft: float | None = None

    def __call__(self, event: AgentEvent) -> None:
        if self.ttft is None and isinstance(event, TextDelta | ThoughtDelta | ToolCall):
            self.ttft = time.perf_counter() - self.start


def session_ttft(model: Path, repo: Path, threads: int) -> tuple[list[float], float, list[int]]:
    engine = LlamaEngine.load(model, EngineConfig(n_ctx=4096, n_threads=threads))
    try:
        toolbox = Toolbox(
            repo, ApprovalPolicy.READ_ONLY, journal=UndoJournal(repo, repo.parent / "journal")
        )
        session = Session(
            make_protocol(engine.tokenizer, engine.chat_template, engine.metadata),
            engine.tokenizer,
            engine.n_ctx,
            system=system_text("chat", repo),
            tools=toolbox.specs(),
            repo_context=repo_context(repo, 512).render(),
            model_name=model.name,
        )
        config = AgentConfig(
            max_steps=1,
            max_tokens=SPEED_TOKENS,
            sampling=SamplingParams(temperature=0),
            plan=(ToolStep(ToolChoice(ToolChoiceMode.NONE)),),
        )
        agent = Agent(engine, session, toolbox, config)
        ttfts = []
        speed = 0.0
        for question in QUESTIONS:
            probe = FirstToken()
            result = agent.run(question, probe)
            ttfts.append(probe.ttft or float("nan"))
            speed = result.stats.tokens_per_second  # the last turn: the longest context
        return ttfts, speed, list(session.ids)
    finally:
        engine.close()


def ask_ttft(model: Path, repo: Path, cache: Path, threads: int) -> float:
    """Seconds from starting `assistant ask` to its first streamed event of output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "assistant", "ask", "Where are tasks saved?", "--json"]
    command += ["--model", str(model), "--ctx", "4096", "--threads", str(threads)]
    command += ["--temperature", "0", "--max-tokens", "16"]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    first = float("nan")
    for line in proc.stdout:
        kind = json.loads(line).get("type")
        if kind in ("text", "thought", "tool_call") and first != first:
            first = time.perf_counter() - start
    proc.wait()
    return first


def bare_speed(model: Path, threads: int, prompt: list[int]) -> float:
    """Greedy generation speed of bare llama-cpp-python after the same prompt
    the agent had on its last turn (attention cost grows with the context)."""
    import llama_cpp

    llama = llama_cpp.Llama(
        model_path=str(model), n_ctx=4096, n_threads=threads, verbose=False, seed=0
    )
    # `generate` has no stop tokens: it runs the full SPEED_TOKENS even where
    # the model would end its turn at once (create_completion then yields one chunk).
    first = last = 0.0
    n = 0
    for _token in llama.generate(prompt, temp=0.0):
        last = time.perf_counter()
        if n == 0:
            first = last
        n += 1
        if n >= SPEED_TOKENS:
            break
    llama.close()
    return (n - 1) / (last - first) if n > 1 and last > first else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=physical_cores())
    args = parser.parse_args()
    if args.model is None:
        from tests.fixtures.build_models import ensure_models

        args.model = ensure_models()["smollm2"]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = demo_copy(base)
        ttfts, agent_speed, prompt = session_ttft(args.model, repo, args.threads)
        cold = ask_ttft(args.model, repo, base / "cache", args.threads)
        warm = ask_ttft(args.model, repo, base / "cache", args.threads)
        bare = bare_speed(args.model, args.threads, prompt)
    print(f"model: {args.model.name}, threads: {args.threads}")
    print(
        f"chat session TTFT   turn 1: {ttfts[0] * 1000:7.0f} ms   turn 3: {ttfts[2] * 1000:7.0f} ms"
    )
    print(
        f"assistant ask TTFT  first process: {cold * 1000:7.0f} ms   second process: {warm * 1000:7.0f} ms  (incl. start-up and model load)"
    )
    print(
        f"generation speed    agent: {agent_speed:6.1f} tok/s   bare llama-cpp-python: {bare:6.1f} tok/s   ratio: {agent_speed / bare:.2f}"
    )


if __name__ == "__main__":
    main()
