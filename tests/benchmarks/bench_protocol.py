"""Per-token cost of the Gemma 4 parser and of the grammar, against generation
time on the tiny random Gemma 4.

    python -m tests.benchmarks.bench_protocol [--tokens N] [--model PATH]

Not collected by pytest (no test_ prefix)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from assistant.llm.engine import GeneratedToken, GenerationRequest, SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.protocols.base import GrammarOptions, Message, Role
from assistant.protocols.gemma4 import Gemma4Protocol
from tests.protocols.tools_fixture import TOOLS


def _generate(
    engine: LlamaEngine, proto: Gemma4Protocol, prompt: list[int], grammar: object, tokens: int
) -> tuple[list[GeneratedToken], float]:
    out: list[GeneratedToken] = []
    ms = 0.0
    seed = 0
    while len(out) < tokens:
        request = GenerationRequest(
            prompt,
            max_tokens=min(64, tokens - len(out)),
            sampling=SamplingParams(temperature=1.0, seed=seed),
            grammar=grammar,
            stop_ids=proto.stop_ids,
        )  # type: ignore[arg-type]
        out += list(engine.generate(request))
        ms += engine.last_stats.generation_ms
        seed += 1
    return out, ms / len(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    if args.model is None:
        from tests.fixtures.build_models import ensure_models

        args.model = ensure_models()["tiny_gemma4"]
    engine = LlamaEngine.load(args.model, EngineConfig(n_ctx=1024, seed=0))
    proto = Gemma4Protocol(engine.tokenizer, engine.chat_template or "")
    messages = [Message(Role.SYSTEM, "You call tools."), Message(Role.USER, "Do something.")]
    prompt = proto.render_messages(messages, TOOLS, False)
    bounds = GrammarOptions(
        max_string_tokens=4, max_array_items=2, max_number_digits=4, parallel_calls=False
    )

    free, free_ms = _generate(engine, proto, prompt, None, args.tokens)
    _, lazy_ms = _generate(
        engine, proto, prompt, proto.grammar(TOOLS, "auto", options=bounds), args.tokens
    )
    calls, req_ms = _generate(
        engine, proto, prompt, proto.grammar(TOOLS, "required", options=bounds), args.tokens
    )

    def parse_cost(stream: list[GeneratedToken]) -> float:
        reps = max(1, 20000 // max(1, len(stream)))
        start = time.perf_counter()
        for _ in range(reps):
            parser = proto.new_parser(TOOLS)
            for token in stream:
                parser.feed(token)
            parser.finish()
        return (time.perf_counter() - start) * 1000 / (reps * len(stream))

    parse_free, parse_calls = parse_cost(free), parse_cost(calls)
    build_start = time.perf_counter()
    for _ in range(20):
        proto.grammar(TOOLS, "auto", existing_paths=[f"src/m{i}.py" for i in range(500)])
    build_ms = (time.perf_counter() - build_start) * 1000 / 20

    print(f"tiny Gemma 4, {args.tokens} tokens per mode, {engine.config.n_threads} threads")
    print(f"  generation, no grammar          {free_ms:8.3f} ms/token")
    print(f"  generation, lazy grammar (auto) {lazy_ms:8.3f} ms/token  ({lazy_ms / free_ms:5.2f}x)")
    print(f"  generation, grammar (required)  {req_ms:8.3f} ms/token  ({req_ms / free_ms:5.2f}x)")
    print(
        f"  grammar overhead                {req_ms - free_ms:8.3f} ms/token  "
        f"({(req_ms - free_ms) / req_ms:6.1%} of constrained generation)"
    )
    print(
        f"  parser, free text               {parse_free:8.4f} ms/token  ({parse_free / free_ms:6.2%} of generation)"
    )
    print(
        f"  parser, tool calls              {parse_calls:8.4f} ms/token  ({parse_calls / req_ms:6.2%} of generation)"
    )
    print(f"  grammar build (4 tools, 500 paths) {build_ms:6.2f} ms per request")
    engine.close()


if __name__ == "__main__":
    main()
