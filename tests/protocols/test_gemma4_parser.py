"""The streaming parser: every value kind and event order, token by token and
in large chunks, and every kind of bad output as an event, never an exception."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from assistant.events import (
    Done,
    Event,
    StopReason,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    ToolCallError,
)
from assistant.llm.engine import GeneratedToken
from assistant.protocols.base import ParsedTurn
from assistant.protocols.gemma4 import Gemma4Protocol, parse
from assistant.protocols.gemma4_format import Marker, format_call, segments_text
from assistant.protocols.gemma4_parser import collect
from assistant.toolspec import ToolSpec
from tests.protocols.tools_fixture import TOOLS

ANY = ToolSpec("any", "Takes anything.", {"type": "object", "properties": {}})

VALUES: list[tuple[str, Any]] = [
    ("plain string", "hello"),
    ("empty string", ""),
    ("multi-line string", "line 1\n  line 2\n\n"),
    ("quotes braces colons", "a \"quoted\" {brace}: [x], y:z, 'single' \\ back"),
    ("unicode", "naïve 日本語 🙂"),
    ("literal marker text", 'x <|"|> y <tool_call|> z'),
    ("zero", 0),
    ("negative int", -42),
    ("big int", 12345678901234),
    ("decimal", 3.25),
    ("negative decimal", -0.5),
    ("exponent", 1.5e-7),
    ("true", True),
    ("false", False),
    ("null", None),
    ("array", [1, "two", 3.5, False, None]),
    ("empty array", []),
    ("empty object", {}),
    ("nested", {"a": {"b": [{"c": "d"}, []], "e": {}}, "f": [[1, 2], ["x"]]}),
]


def tokens(proto: Gemma4Protocol, ids: Sequence[int]) -> list[GeneratedToken]:
    return [GeneratedToken(i, proto.tokenizer.piece(i)) for i in ids]


def stream(
    proto: Gemma4Protocol,
    ids: Sequence[int],
    tools: Sequence[ToolSpec] | None = None,
    reason: StopReason | None = None,
) -> list[Event]:
    parser = proto.new_parser(list(tools) if tools is not None else [ANY, *TOOLS])
    events: list[Event] = []
    for token in tokens(proto, ids):
        events += parser.feed(token)
    return events + parser.finish(reason)


def chunked(
    proto: Gemma4Protocol, ids: Sequence[int], tools: Sequence[ToolSpec] | None = None
) -> list[Event]:
    """Feed runs of plain-text tokens as one big token (as an endpoint would)."""
    parser = proto.new_parser(list(tools) if tools is not None else [ANY, *TOOLS])
    events: list[Event] = []
    run: list[bytes] = []
    for token in tokens(proto, ids):
        if token.id in proto.protected_ids:
            if run:
                events += parser.feed(GeneratedToken(-1, b"".join(run)))
                run = []
            events += parser.feed(token)
        else:
            run.append(token.piece)
    if run:
        events += parser.feed(GeneratedToken(-1, b"".join(run)))
    return events + parser.finish(None)


def all_ways(proto: Gemma4Protocol, segments: list[Any]) -> list[ParsedTurn]:
    ids = proto.ids(segments)
    text = segments_text(segments)
    return [collect(stream(proto, ids)), collect(chunked(proto, ids)), parse(text, [ANY, *TOOLS])]


@pytest.mark.parametrize("value", [v for _, v in VALUES], ids=[n for n, _ in VALUES])
def test_every_value_kind(gemma4: Gemma4Protocol, value: Any) -> None:
    segments = format_call("any", {"v": value, "w": 1})
    turns = all_ways(gemma4, [*segments, Marker.RESPONSE_OPEN])
    if isinstance(value, str) and "<|" in value:
        # In ids the text stays text; a whole string can't tell, so there it's a marker.
        assert turns[2].errors
        turns = turns[:2]
    for turn in turns:
        assert not turn.errors
        assert [(c.name, c.arguments) for c in turn.tool_calls] == [("any", {"v": value, "w": 1})]


def test_event_order_thought_text_calls(gemma4: Gemma4Protocol) -> None:
    segments = [
        Marker.CHANNEL_OPEN,
        "thought\nI should read it.\n",
        Marker.CHANNEL_CLOSE,
        "Let me look.",
        *format_call("read_file", {"path": "a.py"}),
        *format_call("search", {"pattern": "x", "globs": ["*.py"]}),
        Marker.RESPONSE_OPEN,
    ]
    events = stream(gemma4, gemma4.ids(segments))
    kinds = [type(e).__name__ for e in events]
    first_text = kinds.index("TextDelta")
    assert set(kinds[:first_text]) == {"ThoughtDelta"}
    assert kinds[-3:] == ["ToolCall", "ToolCall", "Done"]
    assert "".join(e.text for e in events if isinstance(e, ThoughtDelta)) == "I should read it.\n"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls[0] == ToolCall("read_file", {"path": "a.py"}, calls[0].raw)
    assert calls[0].raw == '<|tool_call>call:read_file{path:<|"|>a.py<|"|>}<tool_call|>'
    assert calls[1].arguments == {"pattern": "x", "globs": ["*.py"]}
    assert events[-1] == Done(StopReason.TOOL_CALL)
    for turn in all_ways(gemma4, segments):
        assert turn.reasoning == "I should read it."
        assert turn.content == "Let me look."
        assert [c.name for c in turn.tool_calls] == ["read_file", "search"]


def test_plain_answer_ends_turn(gemma4: Gemma4Protocol) -> None:
    events = stream(
        gemma4, gemma4.ids(["Just text, with <b>tags</b> and {braces}.", Marker.TURN_CLOSE])
    )
    assert (
        "".join(e.text for e in events if isinstance(e, TextDelta))
        == "Just text, with <b>tags</b> and {braces}."
    )
    assert events[-1] == Done(StopReason.END_OF_TURN)


def test_empty_thought_and_text_after_call(gemma4: Gemma4Protocol) -> None:
    segs = [
        Marker.CHANNEL_OPEN,
        "thought\n",
        Marker.CHANNEL_CLOSE,
        *format_call("any", {}),
        "after",
        Marker.TURN_CLOSE,
    ]
    for turn in all_ways(gemma4, segs):
        assert turn.reasoning == "" and turn.content == "after"
        assert [(c.name, c.arguments) for c in turn.tool_calls] == [("any", {})]


def test_multibyte_text_split_across_tokens(gemma4: Gemma4Protocol) -> None:
    ids = gemma4.tokenizer.tokenize("日本語 🙂 ok")
    events = stream(gemma4, [*ids, gemma4.vocab[Marker.EOS]])
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "日本語 🙂 ok"


def test_whitespace_between_call_parts_is_tolerated() -> None:
    turn = parse("<|tool_call>call:any{ a : 1 , b : [ 1 , 2 ] , c : { } }<tool_call|>", [ANY])
    assert turn.tool_calls[0].arguments == {"a": 1, "b": [1, 2], "c": {}}


def test_integral_float_for_integer_is_coerced() -> None:
    turn = parse('<|tool_call>call:read_file{path:<|"|>a<|"|>,start_line:3.0}<tool_call|>', TOOLS)
    assert turn.tool_calls[0].arguments == {"path": "a", "start_line": 3}


BAD: list[tuple[str, list[Any], StopReason | None, str]] = [
    (
        "unknown tool",
        [Marker.CALL_OPEN, "call:delete_all{}", Marker.CALL_CLOSE],
        None,
        "unknown tool 'delete_all'",
    ),
    ("wrong type", [*format_call("read_file", {"path": 3})], None, "expected string"),
    (
        "missing required",
        [*format_call("read_file", {"start_line": 3})],
        None,
        "missing required key 'path'",
    ),
    (
        "enum violated",
        [*format_call("search", {"pattern": "x", "mode": "fuzzy"})],
        None,
        "not one of",
    ),
    (
        "nested wrong type",
        [*format_call("run_tests", {"options": {"timeout": "soon"}})],
        None,
        "options.timeout",
    ),
    (
        "bare word value",
        [Marker.CALL_OPEN, "call:any{a:hello}", Marker.CALL_CLOSE],
        None,
        "is not a value",
    ),
    (
        "missing value",
        [Marker.CALL_OPEN, "call:any{a:}", Marker.CALL_CLOSE],
        None,
        "value is missing",
    ),
    (
        "no call prefix",
        [Marker.CALL_OPEN, "any{}", Marker.CALL_CLOSE],
        None,
        "must start with 'call:",
    ),
    (
        "unbalanced",
        [Marker.CALL_OPEN, "call:any{a:[1,2}", Marker.CALL_CLOSE],
        None,
        "expected ',' or ']'",
    ),
    (
        "trailing junk",
        [Marker.CALL_OPEN, "call:any{} extra", Marker.CALL_CLOSE],
        None,
        "unexpected text",
    ),
    (
        "stray channel close in call",
        [Marker.CALL_OPEN, "call:any{a:1", Marker.CHANNEL_CLOSE, "}", Marker.CALL_CLOSE],
        None,
        "unexpected <channel|>",
    ),
    (
        "cut off by token limit",
        [Marker.CALL_OPEN, "call:any{a:[1,"],
        StopReason.MAX_TOKENS,
        "cut off by the token limit",
    ),
    (
        "unterminated string at eog",
        [Marker.CALL_OPEN, "call:any{a:", Marker.QUOTE, "abc", Marker.RESPONSE_OPEN],
        None,
        "unterminated string",
    ),
    (
        "eog inside call",
        [Marker.CALL_OPEN, "call:any{a:1", Marker.TURN_CLOSE],
        None,
        "end of generation inside a tool call",
    ),
    (
        "unterminated string cut",
        [Marker.CALL_OPEN, "call:any{a:", Marker.QUOTE, "abc"],
        StopReason.MAX_TOKENS,
        "unterminated string",
    ),
    (
        "new call before close",
        [Marker.CALL_OPEN, "call:any{a:1", *format_call("any", {})],
        None,
        "not closed before the next one",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_output_is_an_error_event(gemma4: Gemma4Protocol, case: Any) -> None:
    _, segments, reason, message = case
    events = stream(gemma4, gemma4.ids(["before ", *segments]), reason=reason)
    errors = [e for e in events if isinstance(e, ToolCallError)]
    assert len(errors) == 1, events
    assert message in errors[0].message
    assert errors[0].raw.startswith("<|tool_call>")
    assert isinstance(events[-1], Done) and events[-1].reason is StopReason.TOOL_CALL
    assert TextDelta("before ") in events or "before" in "".join(
        e.text for e in events if isinstance(e, TextDelta)
    )
    if reason is None:
        assert parse(segments_text(["before ", *segments]), [ANY, *TOOLS]).errors


def test_stray_channel_close_in_text_is_dropped(gemma4: Gemma4Protocol) -> None:
    events = stream(
        gemma4,
        gemma4.ids(
            ["Answer", Marker.CHANNEL_CLOSE, " goes on", Marker.TOOL_CLOSE, Marker.TURN_CLOSE]
        ),
    )
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Answer goes on"
    assert events[-1] == Done(StopReason.END_OF_TURN)


def test_reasons(gemma4: Gemma4Protocol) -> None:
    text = gemma4.ids(["partial answer"])
    assert stream(gemma4, text)[-1] == Done(StopReason.MAX_TOKENS)
    assert stream(gemma4, text, reason=StopReason.CANCELLED)[-1] == Done(StopReason.CANCELLED)
    parser = gemma4.new_parser(TOOLS)
    assert parser.finish() == [Done(StopReason.MAX_TOKENS)]
    assert parser.finish() == []  # finishing twice adds nothing


def test_tokens_after_end_are_ignored(gemma4: Gemma4Protocol) -> None:
    events = stream(
        gemma4, gemma4.ids(["done", Marker.TURN_CLOSE, "ghost", *format_call("any", {})])
    )
    assert [e for e in events if isinstance(e, ToolCall)] == []
    assert events[-1] == Done(StopReason.END_OF_TURN)


def test_whole_string_parse_without_tools_accepts_any_name() -> None:
    turn = parse(
        '<|channel>thought\nplan<channel|>Hi<|tool_call>call:whatever{x:<|"|>1<|"|>}<tool_call|>'
    )
    assert (turn.reasoning, turn.content) == ("plan", "Hi")
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("whatever", {"x": "1"})]


def test_other_control_tokens_are_not_text(gemma4: Gemma4Protocol) -> None:
    pad = gemma4.tokenizer.token_id("<pad>")
    assert pad is not None
    ids = [*gemma4.ids(["a"]), pad, *gemma4.ids(["b", Marker.TURN_CLOSE])]
    assert collect(stream(gemma4, ids)).content == "ab"
