"""Prompt-evaluation progress (`GenerationRequest.on_progress`): real llama.cpp
inference on SmolLM2, with a small batch so that a short prompt spans several."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine

GREEDY = SamplingParams(temperature=0.0)
BATCH = 64


@pytest.fixture(scope="module")
def engine(smollm2_path: Path) -> LlamaEngine:
    return LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=1024, n_batch=BATCH))


def prompt(engine: LlamaEngine, words: int) -> list[int]:
    text = " ".join(f"item{i}" for i in range(words))
    return engine.tokenizer.tokenize(f"List: {text}. The next item is")


def test_reports_each_batch_and_ends_at_the_total(engine: LlamaEngine) -> None:
    ids = prompt(engine, 120)
    assert len(ids) > 3 * BATCH
    calls: list[tuple[int, int]] = []
    request = GenerationRequest(ids, 8, GREEDY, on_progress=lambda d, t: calls.append((d, t)))
    with_progress = [t.id for t in engine.generate(request)]
    total = engine.last_stats.evaluated_tokens
    assert total == len(ids)
    assert [t for _, t in calls] == [total] * len(calls)
    assert [d for d, _ in calls] == [min(total, BATCH * (i + 1)) for i in range(len(calls))]
    assert calls[-1][0] == total

    # The same greedy answer as one call to llama.cpp's eval (no batches of ours).
    list(engine.generate(GenerationRequest(prompt(engine, 7), 2, GREEDY)))  # clear the cache
    plain = [t.id for t in engine.generate(GenerationRequest(ids, 8, GREEDY))]
    assert with_progress == plain


def test_counts_only_the_tokens_that_are_evaluated(engine: LlamaEngine) -> None:
    ids = prompt(engine, 120)
    list(engine.generate(GenerationRequest(ids, 1, GREEDY)))
    longer = ids + engine.tokenizer.tokenize(" and then")
    calls: list[tuple[int, int]] = []
    request = GenerationRequest(longer, 1, GREEDY, on_progress=lambda d, t: calls.append((d, t)))
    list(engine.generate(request))
    assert engine.last_stats.reused_tokens >= len(ids) - 1
    assert calls and calls[-1][0] == calls[-1][1] == len(longer) - engine.last_stats.reused_tokens
    assert calls[-1][1] < BATCH


def test_a_prompt_cut_mid_read_counts_the_batches_it_evaluated(engine: LlamaEngine) -> None:
    """Cancelled after the second batch: the stats (and the trace, and a review
    cut by its timeout) say 2 batches were evaluated, not 0."""
    from assistant.llm.engine import CancelToken, StopReason

    list(engine.generate(GenerationRequest(prompt(engine, 3), 1, GREEDY)))  # clear the cache
    ids = prompt(engine, 120)
    cancel = CancelToken()

    def progress(done: int, total: int) -> None:
        if done >= 2 * BATCH:
            cancel.cancel()

    request = GenerationRequest(ids, 8, GREEDY, on_progress=progress)
    assert list(engine.generate(request, cancel)) == []
    stats = engine.last_stats
    assert stats.stop_reason is StopReason.CANCELLED
    assert stats.evaluated_tokens == 2 * BATCH  # batches start after the re-used ids
    assert stats.reused_tokens < BATCH
