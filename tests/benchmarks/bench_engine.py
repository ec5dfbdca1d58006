"""Engine throughput against bare llama-cpp-python, in one process.

Generates 256 tokens with SmolLM2 through `LlamaEngine.generate` and through
`llama_cpp.Llama.generate` with the same model settings, alternating runs, and
prints tokens/s for each and their ratio (target >= 0.97).

    python -m tests.benchmarks.bench_engine [--tokens 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import llama_cpp

from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.llm.hardware import physical_cores
from assistant.llm.llama import EngineConfig, LlamaEngine
from tests.fixtures.build_models import ensure_models

PROMPT = "<|im_start|>user\nWrite a long story about a lighthouse keeper.<|im_end|>\n<|im_start|>assistant\n"


def bare_run(llama: llama_cpp.Llama, prompt: list[int], n: int) -> float:
    llama.reset()
    start = time.perf_counter()
    count = 0
    for _ in llama.generate(prompt, temp=0.0, top_k=40, top_p=0.95, min_p=0.05, reset=True):
        count += 1
        if count >= n:
            break
    return count / (time.perf_counter() - start)


def engine_run(engine: LlamaEngine, prompt: list[int], n: int) -> float:
    engine._truncate(0)  # same cold start as the bare run: evaluate the whole prompt
    start = time.perf_counter()
    count = 0
    # No stop ids: generate exactly n tokens, as the bare loop does.
    request = GenerationRequest(prompt, max_tokens=n, sampling=SamplingParams(temperature=0.0))
    for _ in engine.generate(request):
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = ensure_models()["smollm2"]
    threads = physical_cores()
    engine = LlamaEngine.load(path, EngineConfig(n_ctx=2048, n_threads=threads))
    bare = llama_cpp.Llama(
        model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
        swa_full=True, verbose=False,
    )  # fmt: skip
    prompt = engine.tokenizer.tokenize(PROMPT, special=True)
    # The engine stops at end-of-turn; ignore it here so both generate n tokens.
    engine._tokenizer.__dict__["eos_ids"] = frozenset()
    bare_run(bare, prompt, 16)  # warm-up both
    engine_run(engine, prompt, 16)
    ours, theirs = [], []
    for _ in range(args.rounds):
        theirs.append(bare_run(bare, prompt, args.tokens))
        ours.append(engine_run(engine, prompt, args.tokens))
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"threads={threads} tokens={args.tokens} rounds={args.rounds}")
    print(f"bare llama_cpp.Llama : {t:7.1f} tok/s  (runs: {', '.join(f'{x:.1f}' for x in theirs)})")
    print(f"assistant engine     : {o:7.1f} tok/s  (runs: {', '.join(f'{x:.1f}' for x in ours)})")
    print(f"ratio engine/bare    : {o / t:.3f}  (target >= 0.97)")


if __name__ == "__main__":
    main()
