"""llama-server figures for the team-server set-up (a script, not a test):

    python -m tests.benchmarks.bench_server [--tokens 64]

1. Aggregate tokens/s of 1, 2, 4 and 8 concurrent clients against one server
   with 4 slots, as a ratio to 1 client: the gain from continuous batching.
2. Turn-3 time to first token of a chat, server vs in-process, both with
   their prompt caches.
3. Time to first token of an `ask`-sized prompt against a warm server (the
   prefix cached in the slot) vs a freshly started one.
All on SmolLM2-135M from the test-model cache, loopback only."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.remote import RemoteEngine
from tests.fixtures.build_models import ensure_models
from tests.server.conftest import start_server

GREEDY = SamplingParams(temperature=0.0, top_k=1, seed=0)
SYSTEM = (
    "<|im_start|>system\nYou are a careful coding assistant. "
    + "Follow the rules. " * 60
    + "<|im_end|>\n"
)


def _turn(text: str) -> str:
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


def _ttft(engine: LlamaEngine | RemoteEngine, prompt: list[int]) -> float:
    start = time.perf_counter()
    for _ in engine.generate(GenerationRequest(prompt, max_tokens=1, sampling=GREEDY)):
        return time.perf_counter() - start
    return time.perf_counter() - start


def aggregate(url: str, clients: int, tokens: int) -> float:
    engines = [RemoteEngine.connect(url) for _ in range(clients)]
    counts = [0] * clients

    def work(i: int) -> None:
        prompt = engines[i].tokenizer.tokenize(
            SYSTEM + _turn(f"Tell story number {i}."), special=True
        )
        request = GenerationRequest(
            prompt, max_tokens=tokens, sampling=SamplingParams(temperature=0.8, seed=i)
        )
        counts[i] = sum(1 for _ in engines[i].generate(request))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for engine in engines:
        engine.close()
    return sum(counts) / elapsed


def chat_turn3(engine: LlamaEngine | RemoteEngine) -> float:
    history = SYSTEM
    ttft = 0.0
    for n, question in enumerate(("What is a list?", "And a tuple?", "And a set?")):
        history += _turn(question)
        prompt = engine.tokenizer.tokenize(history, special=True)
        ttft = _ttft(engine, prompt)
        answer = [
            t.id for t in engine.generate(GenerationRequest(prompt, max_tokens=16, sampling=GREEDY))
        ]
        history += engine.tokenizer.detokenize(answer) + "<|im_end|>\n"
        del n
    return ttft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    model = ensure_models()["smollm2"]
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(model, Path(tmp) / "server.log", slots=4, ctx=4096)
        try:
            base = aggregate(server.url, 1, args.tokens)
            print(f"1 client: {base:.1f} tok/s")
            for clients in (2, 4, 8):
                rate = aggregate(server.url, clients, args.tokens)
                print(f"{clients} clients: {rate:.1f} tok/s aggregate, ratio {rate / base:.2f}")
            remote = RemoteEngine.connect(server.url)
            remote_ttft = statistics.median(chat_turn3(remote) for _ in range(3))
            remote.close()
            local = LlamaEngine.load(model, EngineConfig(n_ctx=4096, seed=0))
            local_ttft = statistics.median(chat_turn3(local) for _ in range(3))
            local.close()
            print(
                f"turn-3 time to first token: server {remote_ttft * 1000:.0f} ms, "
                f"in-process {local_ttft * 1000:.0f} ms, ratio {remote_ttft / local_ttft:.2f}"
            )
            warm_engine = RemoteEngine.connect(server.url)
            prompt = warm_engine.tokenizer.tokenize(
                SYSTEM + _turn("How are tasks saved?"), special=True
            )
            _ttft(warm_engine, prompt)
            warm = _ttft(warm_engine, prompt)
            warm_engine.close()
        finally:
            server.stop()
        cold_server = start_server(model, Path(tmp) / "cold.log", slots=4, ctx=4096)
        try:
            cold_engine = RemoteEngine.connect(cold_server.url)
            cold = _ttft(cold_engine, prompt)
            cold_engine.close()
        finally:
            cold_server.stop()
        print(
            f"second ask, time to first token: warm server {warm * 1000:.0f} ms, "
            f"cold server {cold * 1000:.0f} ms, ratio {warm / cold:.2f}"
        )


if __name__ == "__main__":
    main()
