"""The runaway-generation detector: exact cycles at the end of the output,
the threshold, and nothing else."""

from __future__ import annotations

import random

from assistant.llm.repetition import RepetitionDetector, RepetitionLimit


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
