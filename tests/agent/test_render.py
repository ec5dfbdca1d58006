"""Renderers consume events (plain dataclasses, built here as the agent emits them)."""

from __future__ import annotations

import io
import json

import pyte
import pytest
from rich.console import Console

from assistant.events import (
    Done,
    Notice,
    Outcome,
    StepStats,
    StopReason,
    TextDelta,
    ThoughtDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from assistant.llm.engine import GenerationStats
from assistant.ui import render
from assistant.ui.render import JsonRenderer, PlainRenderer, RichRenderer

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
STATS = GenerationStats(
    prompt_tokens=100,
    evaluated_tokens=10,
    generated_tokens=20,
    prompt_eval_ms=50,
    generation_ms=1000,
)


def turn() -> list[object]:
    return [
        ThoughtDelta("pondering"),
        ToolStarted("edit_file", {"path": "x.py"}),
        ToolFinished("edit_file", {"path": "x.py"}, True, "ok: edited x.py", DIFF, "x.py"),
        TextDelta("\n\n"),
        TextDelta("Changed **x** to 2:\n\n```python\nx = 2\n```\n"),
        Done(StopReason.END_OF_TURN),
        StepStats(STATS, 1234, 8192),
        Notice("a note"),
        TurnFinished("Changed x", Outcome.DONE, 2, 1, ("x.py",), STATS),
    ]


def test_plain_renderer_has_no_ansi_and_separates_streams() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, err)
    for event in turn():
        renderer(event)  # type: ignore[arg-type]
    assert "\x1b[" not in out.getvalue() + err.getvalue()
    assert out.getvalue().startswith("Changed **x** to 2:")  # leading blank lines dropped
    assert "```python" in out.getvalue()
    assert "[ok] edit_file x.py: ok: edited x.py" in err.getvalue()
    assert "+x = 2" in err.getvalue()
    assert "1,234/8,192 tokens" in err.getvalue() and "20.0 tok/s" in err.getvalue()
    assert "pondering" not in out.getvalue() + err.getvalue()  # thoughts hidden


def test_json_renderer_writes_one_object_per_line() -> None:
    out = io.StringIO()
    renderer = JsonRenderer(out)
    for event in turn():
        renderer(event)  # type: ignore[arg-type]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds == [
        "thought",
        "tool_call",
        "tool_result",
        "diff",
        "text",
        "text",
        "step",
        "notice",
        "final",
        "stats",
    ]
    assert lines[3]["diff"] == DIFF
    assert lines[-2]["outcome"] == "done" and lines[-2]["changed_files"] == ["x.py"]


def test_rich_renderer_streams_markdown_with_highlighting() -> None:
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=True, width=80, height=24, color_system="truecolor"
    )
    renderer = RichRenderer(console, show_thoughts=True)
    for event in turn():
        renderer(event)  # type: ignore[arg-type]
    renderer.close()
    text = buffer.getvalue()
    assert "\x1b[" in text
    assert "pondering" in text  # thoughts shown (dimmed)
    assert "✓" in text and "edit_file x.py" in text
    assert "Changed" in text and "x = 2" in text
    assert "**x**" not in text  # rendered as Markdown, not raw
    assert "1,234/8,192 tokens" in text


def terminal_lines(output: str, width: int, height: int) -> list[str]:
    """What a terminal shows after `output`: its scrollback, then its screen
    (pyte emulates the cursor moves and erases of Rich's live updates)."""
    screen = pyte.HistoryScreen(width, height, history=10_000)
    screen.set_mode(pyte.modes.LNM)  # LF as CRLF, as the tty's line discipline does
    pyte.Stream(screen).feed(output)
    history = ["".join(line[x].data for x in range(width)) for line in screen.history.top]
    return [line.rstrip() for line in [*history, *screen.display]]


def test_rich_renderer_long_answer_is_not_duplicated(monkeypatch: pytest.MonkeyPatch) -> None:
    # Refresh on every delta (the renderer throttles to a few a second), so
    # the live window really scrolls while the 40 lines stream in.
    monkeypatch.setattr(render, "REFRESH_SECONDS", 0.0)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=60, height=10)
    renderer = RichRenderer(console)
    for i in range(40):
        renderer(TextDelta(f"line {i}\n\n"))
    renderer(Done(StopReason.END_OF_TURN))
    lines = terminal_lines(buffer.getvalue(), 60, 10)
    # Lines that scrolled out of the live window were printed once, for good,
    # and the window's last state added none of them again.
    for i in range(40):
        assert lines.count(f"line {i}") == 1, (i, lines)
