"""Random token ids from the real Gemma 4 vocabulary, biased toward the control
tokens: the parser never raises, always ends with exactly one Done, and never
hits its internal-error guard."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.events import Done, StopReason, ToolCallError
from assistant.llm.engine import GeneratedToken
from assistant.protocols.gemma4 import Gemma4Protocol, parse
from assistant.protocols.gemma4_format import Marker
from tests.protocols.tools_fixture import TOOLS

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SYNTAX = [
    "call:",
    "read_file",
    "search",
    "any",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "path",
    "-1.5e3",
    "true",
    "null",
    "x",
    "\n",
    "日",
    " ",
]


def _id_strategy(gemma4: Gemma4Protocol) -> st.SearchStrategy[int]:
    controls = sorted(gemma4.vocab.protected)
    syntax_ids = sorted({i for s in SYNTAX for i in gemma4.tokenizer.tokenize(s)})
    n_vocab = gemma4.tokenizer.n_vocab
    return st.one_of(
        st.sampled_from(controls),
        st.sampled_from(syntax_ids),
        st.integers(min_value=0, max_value=n_vocab - 1),
    )


@SETTINGS
@given(data=st.data())
def test_random_ids_never_raise(gemma4: Gemma4Protocol, data: Any) -> None:
    ids = data.draw(st.lists(_id_strategy(gemma4), max_size=80))
    reason = data.draw(st.sampled_from([None, *StopReason]))
    parser = gemma4.new_parser(TOOLS)
    events = []
    for i in ids:
        events += parser.feed(GeneratedToken(i, gemma4.tokenizer.piece(i)))
    events += parser.finish(reason)
    assert isinstance(events[-1], Done)
    assert sum(isinstance(e, Done) for e in events) == 1
    assert not any(isinstance(e, ToolCallError) and "internal" in e.message for e in events)


@SETTINGS
@given(st.lists(st.sampled_from([m.value for m in Marker] + SYNTAX + ['<|"|>']), max_size=60))
def test_random_marker_text_never_raises(pieces: list[str]) -> None:
    turn = parse("".join(pieces), TOOLS)
    assert not any("internal" in e.message for e in turn.errors)
