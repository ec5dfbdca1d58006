"""Load a model the way every command does and decode a long prompt, in a
child process, so that a native crash (llama.cpp's AMX path on Sapphire
Rapids segfaults at the first decode) is a reported outcome and not a lost
run. `assistant doctor` uses it, and so does the test that would have caught
that crash on any machine.

    python -m assistant.agent.probe MODEL [--tokens 700] [--ctx N]

The child prints one JSON line (`ProbeReport`); the parent (`run_probe`)
turns a death by signal into a `ProbeOutcome` that names the signal."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROBE_TEXT = (
    "def total(cart):\n    return sum(item.price * item.qty for item in cart.items)\n"
    "Read the function above and say what it returns, in one sentence.\n"
)


@dataclass(frozen=True)
class ProbeReport:
    """What the child measured."""

    model: str
    load_plan: str
    weight_buffers: list[str]
    threads: int
    prompt_tokens: int
    prompt_tokens_per_s: float
    generated_tokens: int
    generated_tokens_per_s: float


@dataclass(frozen=True)
class ProbeOutcome:
    report: ProbeReport | None
    returncode: int | None  # None: timed out
    error: str = ""  # one line: what killed it, or what it said

    @property
    def ok(self) -> bool:
        return self.report is not None and self.returncode == 0


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_probe(
    model: Path,
    *,
    tokens: int = 700,
    ctx: int | None = None,
    timeout: float = 300.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ProbeOutcome:
    """Run the probe in a child process with this interpreter; settings
    (threads, extra_buffers…) come from the child's environment and config, as
    for any command run there."""
    command = [sys.executable, "-m", "assistant.agent.probe", str(model), "--tokens", str(tokens)]
    if ctx is not None:
        command += ["--ctx", str(ctx)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return ProbeOutcome(None, None, f"no answer within {timeout:g} s")
    if done.returncode < 0:
        return ProbeOutcome(
            None,
            done.returncode,
            f"killed by {signal_name(done.returncode)} while loading or decoding",
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        said = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return ProbeOutcome(None, done.returncode, said)
    return ProbeOutcome(ProbeReport(**json.loads(lines[-1])), 0)


def _probe(model: Path, tokens: int, ctx: int | None) -> ProbeReport:
    from assistant.agent.runtime import engine_config
    from assistant.config import load_settings
    from assistant.llm.engine import GenerationRequest, SamplingParams
    from assistant.llm.llama import LlamaEngine
    from assistant.repo.git import repo_root_or_cwd

    flags: dict[str, object] = {"model": str(model), "n_ctx": ctx or max(1024, tokens + 128)}
    settings = load_settings(repo_root_or_cwd(), flags)
    config = engine_config(settings)
    engine = LlamaEngine.load(Path(str(settings.model)), config)
    try:
        piece = engine.tokenizer.tokenize(PROBE_TEXT, special=False)
        bos = engine.tokenizer.bos_id
        prompt = [] if bos is None else [bos]
        while len(prompt) < tokens:
            prompt += piece
        prompt = prompt[:tokens]
        request = GenerationRequest(prompt, max_tokens=16, sampling=SamplingParams(temperature=0))
        started = time.perf_counter()
        generated = sum(1 for _ in engine.generate(request))
        stats = engine.last_stats
        elapsed = time.perf_counter() - started
        prompt_s = stats.prompt_eval_ms / 1000 or elapsed
        gen_s = stats.generation_ms / 1000
        return ProbeReport(
            model=model.name,
            load_plan=engine.load_plan.summary,
            weight_buffers=list(engine.weight_buffers),
            threads=engine.threads,
            prompt_tokens=len(prompt),
            prompt_tokens_per_s=round(stats.evaluated_tokens / prompt_s, 1) if prompt_s else 0.0,
            generated_tokens=generated,
            generated_tokens_per_s=round(generated / gen_s, 1) if gen_s else 0.0,
        )
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m assistant.agent.probe")
    parser.add_argument("model", type=Path)
    parser.add_argument("--tokens", type=int, default=700)
    parser.add_argument("--ctx", type=int, default=None)
    args = parser.parse_args()
    try:
        report = _probe(args.model, args.tokens, args.ctx)
    except Exception as exc:  # reported to the parent as one line
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        sys.stdout.flush()
        os._exit(1)
    print(json.dumps(asdict(report)), flush=True)


if __name__ == "__main__":
    main()
