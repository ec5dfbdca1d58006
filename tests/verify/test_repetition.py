"""The runaway-generation detector: exact cycles at the end of the output,
the threshold, and nothing else."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.llm.engine import GenerationRequest, SamplingParams, StopReason
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.repetition import RepetitionDetector, RepetitionLimit
from tests.conftest import ENGINE_THREADS

GREEDY = SamplingParams(temperature=0.0)


def feed_all(ids: list[int], limit: RepetitionLimit | None = None) -> int | None:
    detector = RepetitionDetector(limit)
    for n, token in enumerate(ids, 1):
        if detector.feed(token) is not None:
            return n
    return None


def test_a_repeated_sentence_stops_once_the_loop_spans_the_threshold() -> None:
    sentence = list(range(100, 130))  # a 30-token sentence
    ids = list(range(1, 41)) + sentence * 10
    at = feed_all(ids, RepetitionLimit(min_span=120, min_repeats=3))
    # 40 tokens of answer, then the loop: fires when 120 looping tokens are out.
    assert at == 40 + 120


def test_a_long_cycle_needs_its_copies() -> None:
    cycle = list(range(200, 280))  # 80 tokens
    ids = cycle * 4
    assert feed_all(ids, RepetitionLimit(min_span=120, min_repeats=3, max_period=80)) == 240


def test_a_one_token_run_fires_at_the_span() -> None:
    assert feed_all([7] * 300, RepetitionLimit(min_span=120)) == 120


def test_varied_text_never_fires() -> None:
    rng = random.Random(1)
    ids = [rng.randrange(50_000) for _ in range(5_000)]
    assert feed_all(ids) is None


def test_near_repeats_do_not_fire() -> None:
    # Lines that differ by one token (a numbered list, a table) are not a loop.
    ids: list[int] = []
    for i in range(60):
        ids += [11, 12, 13, 1000 + i, 14, 15]
    assert feed_all(ids) is None


def test_a_short_repeat_under_the_span_does_not_fire() -> None:
    ids = list(range(1, 50)) + [5, 6, 7, 8] * 25 + list(range(60, 90))  # 100 tokens looping
    assert feed_all(ids, RepetitionLimit(min_span=120)) is None


# ---------------------------------------------------------------- SmolLM2, real inference
# Measured with `python -m tests.benchmarks.measure_repetition` (greedy, 400 tokens):
# "Write a Markdown table of three fruits…" loops on `| Grapes | Green |` (period 7) and
# stops at token 164 of 400; "Write a poem about the sea." loops with period 12 and stops
# at 256; normal answers (a greeting, a Python function, git in two sentences, 1..30)
# never hold an exact cycle longer than 2 tokens.

LOOPING_PROMPT = "Write a Markdown table of three fruits and their colours."
NORMAL_PROMPTS = ["Say hi.", "Explain what git is in two sentences."]


@pytest.fixture(scope="module")
def smol(smollm2_path: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=2048, n_threads=ENGINE_THREADS))
    yield engine
    engine.close()


def chatml(engine: LlamaEngine, text: str) -> list[int]:
    return engine.tokenizer.tokenize(
        f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n", special=True
    )


def test_smollm2_loop_is_stopped_early_and_records_the_saving(smol: LlamaEngine) -> None:
    request = GenerationRequest(
        chatml(smol, LOOPING_PROMPT), 400, GREEDY, repetition=RepetitionLimit()
    )
    ids = [t.id for t in smol.generate(request)]
    stats = smol.last_stats
    assert stats.stop_reason is StopReason.REPETITION
    assert stats.repeated_tokens >= 120
    assert stats.saved_tokens == 400 - len(ids) and stats.saved_tokens > 150
    text = smol.tokenizer.detokenize(ids)
    assert text.count("| Grapes | Green |") >= 3  # the loop it cut


@pytest.mark.parametrize("prompt", NORMAL_PROMPTS)
def test_smollm2_normal_answer_is_never_cut(smol: LlamaEngine, prompt: str) -> None:
    request = GenerationRequest(chatml(smol, prompt), 300, GREEDY, repetition=RepetitionLimit())
    ids = [t.id for t in smol.generate(request)]
    assert smol.last_stats.stop_reason is StopReason.END_OF_TURN, smol.tokenizer.detokenize(ids)
    assert ids[-1] in smol.tokenizer.eos_ids
    assert smol.last_stats.saved_tokens == 0
