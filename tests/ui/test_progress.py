"""What the user sees while the prompt is read: tokens done/total and an ETA."""

from __future__ import annotations

import io

from rich.console import Console

from assistant.events import Progress
from assistant.ui.render import RichRenderer, progress_text


def test_progress_text_counts_and_eta() -> None:
    assert progress_text(Progress("reading 1,166 new tokens", 1166)) == "reading 1,166 new tokens"
    mid = Progress("reading 1,166 new tokens", 1166, 512, 1166, 16.0)
    assert progress_text(mid) == "reading 1,166 new tokens: 512/1,166 · about 20 s left"
    fast = Progress("reading 600 new tokens", 600, 512, 600, 0.1)
    assert progress_text(fast).endswith("· under a second left")


def test_rich_status_updates_per_batch() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    renderer = RichRenderer(console)
    renderer(Progress("reading 1,166 new tokens", 1166))
    renderer(Progress("reading 1,166 new tokens", 1166, 512, 1166, 16.0))
    assert renderer._status is not None
    assert "512/1,166" in str(renderer._status.renderable.text)  # type: ignore[attr-defined]
    renderer.close()


def test_the_footer_of_a_stopped_turn_does_not_claim_its_context_size() -> None:
    """A step stopped while its prompt was read used none of the context it
    names, and chat drops the stopped turn: the footer leaves the size out."""
    from assistant.events import Outcome, StepStats, TurnFinished
    from assistant.llm.engine import GenerationStats
    from assistant.ui.render import footer_text

    step = StepStats(GenerationStats(prompt_tokens=5375), used_tokens=5375, n_ctx=8192)
    done = TurnFinished("", Outcome.DONE, 1, 0, (), GenerationStats())
    stopped = TurnFinished("", Outcome.CANCELLED, 1, 0, (), GenerationStats())
    assert footer_text(step, done) == "5,375/8,192 tokens · 1 step"
    assert footer_text(step, stopped) == "1 step"
