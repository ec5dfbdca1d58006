"""The CPU path's two choices, measured in one process (llm/hardware.py):

1. Extra buffer types on vs off (what the AMX guard costs where it must turn
   them off): prompt-eval and generation tokens/s on the test models, and on
   SmolLM2 re-quantized to Q4_0, a type llama.cpp's CPU_REPACK does repack on
   x86 (the shipped Q4_1 is not, so on it the two are the same load).
2. Threads: the default (one per free core, re-read while answering) vs one
   thread vs the old fixed count (all physical cores), on a quiet machine and
   with one core kept busy by a background process. Target: the default under
   load keeps at least half its quiet rate.

    python -m tests.benchmarks.bench_hardware [--tokens 128] [--prompt 512] [--rounds 3]

Every figure is a median; ratios compare runs made minutes apart in this
process, never timings against a fixed number."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.llm import hardware
from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.llm.hardware import ExtraBuffers
from assistant.llm.llama import EngineConfig, LlamaEngine
from tests.fixtures.build_models import default_cache_dir, ensure_models

TEXT = "The lighthouse keeper counted the ships that passed in the night. " * 200


def q4_0_copy(source: Path) -> Path:
    """SmolLM2 re-quantized to Q4_0 with llama.cpp's own quantizer (cached)."""
    import llama_cpp

    target = default_cache_dir() / (source.stem + ".requant-Q4_0.gguf")
    if target.exists():
        return target
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = 2  # LLAMA_FTYPE_MOSTLY_Q4_0
    params.allow_requantize = True
    params.nthread = 2
    partial = target.with_suffix(".partial")
    if llama_cpp.llama_model_quantize(
        str(source).encode(), str(partial).encode(), ctypes.byref(params)
    ):
        raise SystemExit(f"quantizing {source} failed")
    partial.replace(target)
    return target


def measure(engine: LlamaEngine, prompt_len: int, tokens: int) -> tuple[float, float]:
    """(prompt tok/s, generation tok/s) from a cold prompt."""
    engine.reset()
    ids = engine.tokenizer.tokenize(TEXT, special=False)[:prompt_len]
    request = GenerationRequest(ids, max_tokens=tokens, sampling=SamplingParams(temperature=0))
    for _ in engine.generate(request):
        pass
    stats = engine.last_stats
    prompt_rate = stats.evaluated_tokens / (stats.prompt_eval_ms / 1000)
    return prompt_rate, stats.tokens_per_second


def median_rates(engine: LlamaEngine, args: argparse.Namespace) -> tuple[float, float]:
    runs = [measure(engine, args.prompt, args.tokens) for _ in range(args.rounds)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def load(path: Path, **config: object) -> LlamaEngine:
    engine = LlamaEngine.load(path, EngineConfig(n_ctx=2048, **config))  # type: ignore[arg-type]
    engine.tokenizer.__dict__["eos_ids"] = frozenset()  # generate exactly n tokens
    return engine


def bench_buffers(models: dict[str, Path], args: argparse.Namespace) -> None:
    print("extra buffer types: on (llama.cpp's default) vs off (what the AMX guard uses)")
    for name, path in models.items():
        rates = {}
        buffers = {}
        for setting in (ExtraBuffers.ON, ExtraBuffers.OFF):
            engine = load(path, n_threads=args.threads, extra_buffers=setting)
            buffers[setting] = ", ".join(engine.weight_buffers)
            measure(engine, 32, 4)  # warm-up
            rates[setting] = median_rates(engine, args)
            engine.close()
        (p_on, g_on), (p_off, g_off) = rates[ExtraBuffers.ON], rates[ExtraBuffers.OFF]
        print(
            f"  {name:<22} on [{buffers[ExtraBuffers.ON]}]: prompt {p_on:7.1f} gen {g_on:6.1f} | "
            f"off [{buffers[ExtraBuffers.OFF]}]: prompt {p_off:7.1f} gen {g_off:6.1f} | "
            f"off/on prompt {p_off / p_on:.2f} gen {g_off / g_on:.2f}"
        )


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)
    try:
        yield
    finally:
        process.kill()
        process.wait()


def bench_threads(path: Path, args: argparse.Namespace) -> None:
    cores = hardware.default_cores()
    print(f"threads on {path.name}: {cores} usable physical cores")
    settings = {"default": None, "1 thread": 1, f"fixed {cores}": cores}
    results: dict[tuple[str, bool], tuple[float, float]] = {}
    for label, threads in settings.items():
        engine = load(path, n_threads=threads)
        measure(engine, 32, 4)
        results[label, False] = median_rates(engine, args)
        with busy_core():
            results[label, True] = median_rates(engine, args)
        engine.close()
    for label in settings:
        (pq, gq), (pb, gb) = results[label, False], results[label, True]
        print(
            f"  {label:<10} quiet: prompt {pq:7.1f} gen {gq:6.1f} | one busy core: prompt "
            f"{pb:7.1f} gen {gb:6.1f} | busy/quiet prompt {pb / pq:.2f} gen {gb / gq:.2f}"
        )
    dq, db = results["default", False][1], results["default", True][1]
    oq = results["1 thread", False][1]
    print(f"  default vs 1 thread, quiet: gen {dq / oq:.2f}x")
    print(f"  default under one busy core keeps {db / dq:.0%} of its quiet rate (target >= 50%)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="for the buffer comparison")
    parser.add_argument("--skip", choices=("buffers", "threads"), default=None)
    args = parser.parse_args()
    paths = ensure_models()
    report = hardware.cpu_report()
    print(f"CPU: {platform.processor() or platform.machine()} · {_cpu_name()}")
    print(f"llama.cpp features: {', '.join(sorted(report.features))}")
    print(f"extra buffer types: {', '.join(report.extra_buffer_types) or 'none'}")
    if args.skip != "buffers":
        models = {
            "SmolLM2 Q4_1": paths["smollm2"],
            "SmolLM2 Q4_0 (requant)": q4_0_copy(paths["smollm2"]),
            "tiny Gemma 4": paths["tiny_gemma4"],
        }
        bench_buffers(models, args)
    if args.skip != "threads":
        bench_threads(paths["smollm2"], args)


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
