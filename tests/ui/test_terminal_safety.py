"""The model's text never drives the terminal: an answer, a thought, a tool
call's arguments and a tool's message that carry escape sequences are printed
with them shown (␛), by the real Rich renderer on a terminal and by the plain
one. JSON keeps the exact text. (Rich's own styling is escape sequences too;
the checks look for the injected ones.)"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from assistant.events import (
    AgentEvent,
    Notice,
    Outcome,
    TextDelta,
    ThoughtDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from assistant.llm.engine import GenerationStats
from assistant.ui.render import JsonRenderer, PlainRenderer, RichRenderer

EVIL = "x\x1b[2J\x1b]0;pwned\x07\x9b31m\ry"
INJECTED = ("\x1b[2J", "\x1b]0;", "\x07", "\x9b")  # (Rich writes its own CR for Live)

EVENTS: list[AgentEvent] = [
    ThoughtDelta(f"thinking {EVIL}\n"),
    TextDelta(f"The answer {EVIL}\n\n```\ncode {EVIL}\n```\n"),
    ToolStarted("read_file", {"path": f"a{EVIL}.py"}),
    ToolFinished("read_file", {"path": f"a{EVIL}.py"}, False, f"error: no such file {EVIL}"),
    Notice(f"note {EVIL}", warning=True),
    TurnFinished(f"The answer {EVIL}", Outcome.DONE, 1, 1, (), GenerationStats()),
]


def rich_output() -> str:
    out = io.StringIO()
    renderer = RichRenderer(Console(file=out, force_terminal=True, width=100), show_thoughts=True)
    for event in EVENTS:
        renderer(event)
    renderer.close()
    return out.getvalue()


def plain_output() -> str:
    out = io.StringIO()
    renderer = PlainRenderer(out=out, err=out, show_thoughts=True)
    for event in EVENTS:
        renderer(event)
    return out.getvalue()


@pytest.mark.parametrize("render", [rich_output, plain_output])
def test_escape_sequences_are_shown_not_obeyed(render: object) -> None:
    assert callable(render)
    shown = render()
    for sequence in INJECTED:
        assert sequence not in shown, repr(sequence)
    assert shown.count("␛[2J") >= 4  # thought, answer, code, tool line, notice…
    assert "note x␛[2J␛]0;pwned␇<U+009B>31m␍y" in shown


def test_json_keeps_the_exact_text() -> None:
    out = io.StringIO()
    renderer = JsonRenderer(out)
    renderer(TextDelta(EVIL))
    assert EVIL in [json.loads(line).get("text") for line in out.getvalue().splitlines()]
