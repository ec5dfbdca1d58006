"""Runaway generation: a small model can fall into a loop and repeat one
sentence (or one line of code) until the token limit. This detector watches
the generated ids and fires when the tail of the output is one cycle of
`period` tokens repeated back to back, covering at least `min_span` tokens and
at least `min_repeats` copies.

It keeps, for every period up to `max_period`, how many consecutive tokens
equal the token `period` places earlier: O(max_period) work per token, no
copies. The defaults come from measurements on SmolLM2-135M (see
tests/verify/test_repetition.py and README "Runaway generation"): a looping
answer repeats a 10-40 token sentence; normal answers (prose, code, Markdown
tables) never hold an exact cycle over this span."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RepetitionLimit:
    min_span: int = 120  # tokens covered by the repeated cycle before stopping
    min_repeats: int = 3  # copies of the cycle (a long cycle must still repeat)
    max_period: int = 80  # longest cycle looked for, in tokens


@dataclass(frozen=True)
class Repetition:
    period: int  # length of the cycle in tokens
    span: int  # tokens at the end of the output that follow the cycle
    start: int  # index of the first token of the repeated span (after its first copy)


class RepetitionDetector:
    def __init__(self, limit: RepetitionLimit | None = None) -> None:
        self.limit = limit or RepetitionLimit()
        self._ids: list[int] = []
        # _run[p]: consecutive latest tokens with ids[i] == ids[i - p]
        self._run = [0] * (self.limit.max_period + 1)

    def feed(self, token: int) -> Repetition | None:
        """Add one generated token; a `Repetition` when the output now loops."""
        ids = self._ids
        ids.append(token)
        n = len(ids)
        run = self._run
        limit = self.limit
        found: Repetition | None = None
        for p in range(1, min(limit.max_period, n - 1) + 1):
            if ids[n - 1 - p] == token:
                run[p] += 1
                # The run plus the first copy it repeats is the looping span.
                span = run[p] + p
                if (
                    found is None
                    and span >= limit.min_span
                    and span >= limit.min_repeats * p
                    and _primitive(ids, n - p, p)
                ):
                    found = Repetition(p, span, n - run[p])
            else:
                run[p] = 0
        return found


def _primitive(ids: list[int], start: int, p: int) -> bool:
    """True unless the cycle ids[start:start+p] is itself a repeat of a shorter
    one (then that shorter period reports it, with the right count)."""
    cycle = ids[start : start + p]
    shorter = (q for q in range(1, p // 2 + 1) if p % q == 0)
    return not any(cycle == cycle[:q] * (p // q) for q in shorter)
