"""Where should the runaway-generation detector fire? Generates greedy answers
from SmolLM2-135M with the detector off, then reports for each answer the
longest exact cycle at its end-so-far (any period up to 80 tokens) and where
each candidate limit would have stopped it.

    python -m tests.benchmarks.measure_repetition [--max-tokens 300]

Normal answers must never fire; looping ones should fire early."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.repetition import RepetitionDetector, RepetitionLimit

# Greedy SmolLM2 loops on these (the table repeats `| Grapes | Green |` forever).
LOOPING = [
    "Write a Markdown table of three fruits and their colours.",
    "Write a poem about the sea.",
    "What does this project do, and how are tasks saved?",
]
NORMAL = [
    "Say hi.",
    "Write a Python function that adds two numbers.",
    "List the numbers from 1 to 30, comma separated.",
    "Explain what git is in two sentences.",
]
CANDIDATES = [
    RepetitionLimit(min_span=60, min_repeats=3),
    RepetitionLimit(min_span=90, min_repeats=3),
    RepetitionLimit(min_span=120, min_repeats=3),
    RepetitionLimit(min_span=200, min_repeats=3),
]


def chatml(engine: LlamaEngine, text: str) -> list[int]:
    return engine.tokenizer.tokenize(
        f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n", special=True
    )


def longest_cycle(ids: list[int], max_period: int = 80) -> tuple[int, int]:
    """(span, period) of the longest exact cycle anywhere in `ids` (2+ copies)."""
    best = (0, 0)
    for p in range(1, max_period + 1):
        run = 0
        for i in range(p, len(ids)):
            run = run + 1 if ids[i] == ids[i - p] else 0
            if run + p > best[0] and run >= p:
                best = (run + p, p)
    return best


def fires_at(ids: list[int], limit: RepetitionLimit) -> int | None:
    detector = RepetitionDetector(limit)
    for n, token in enumerate(ids, 1):
        if detector.feed(token) is not None:
            return n
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    from tests.fixtures.build_models import ensure_models

    path = args.model or ensure_models()["smollm2"]
    engine = LlamaEngine.load(path, EngineConfig(n_ctx=2048, n_threads=1))
    header = "kind     tokens  stop        cycle(span/period)  " + "  ".join(
        f"fire@{c.min_span}" for c in CANDIDATES
    )
    print(header)
    for kind, prompts in (("looping", LOOPING), ("normal", NORMAL)):
        for prompt in prompts:
            for penalty in (1.0,):
                sampling = SamplingParams(temperature=0.0, repeat_penalty=penalty)
                request = GenerationRequest(chatml(engine, prompt), args.max_tokens, sampling)
                ids = [t.id for t in engine.generate(request)]
                span, period = longest_cycle(ids)
                fires = [fires_at(ids, c) for c in CANDIDATES]
                print(
                    f"{kind:8} {len(ids):6}  {engine.last_stats.stop_reason:10}  "
                    f"{span:5}/{period:<5}            "
                    + "  ".join(f"{'-' if f is None else f:>8}" for f in fires)
                    + f"   rp={penalty} {prompt[:40]!r}"
                )
    engine.close()


if __name__ == "__main__":
    main()
