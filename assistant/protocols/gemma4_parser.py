"""Streaming parser for Gemma 4 output: token ids in, typed events out.

The state machine works on *units*: a control `Marker` or a run of plain bytes.
Token ids map to units through the loaded vocabulary, so a literal `<|"|>` typed
as text is never a string delimiter; `parse(text)` maps marker strings to units
instead, for whole strings (logs, endpoint output).

Bad output never raises: a call that is malformed, cut off, names an unknown
tool or has arguments that do not fit the schema becomes a `ToolCallError`
carrying the raw text, which the agent loop returns to the model."""

from __future__ import annotations

import codecs
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
from assistant.protocols.base import ParsedTurn, tools_by_name
from assistant.protocols.gemma4_format import Gemma4Vocab, Marker
from assistant.protocols.schema import coerce, validate
from assistant.toolspec import ToolSpec

END_MARKERS = frozenset({Marker.EOS, Marker.TURN_CLOSE, Marker.RESPONSE_OPEN})
_MAX_CHANNEL_HEADER = 64  # chars before the newline that ends `<|channel>thought`


class _State(enum.Enum):
    TEXT = "text"
    CHANNEL_HEADER = "channel_header"
    THOUGHT = "thought"
    CALL = "call"
    DONE = "done"


@dataclass(frozen=True)
class _Str:
    """A `<|"|>…<|"|>` string inside a call: one atom for the value parser."""

    value: str


@dataclass
class _Call:
    parts: list[str | _Str] = field(default_factory=list)  # syntax text and strings
    raw: list[str] = field(default_factory=list)
    in_string: bool = False
    buf: bytearray = field(default_factory=bytearray)  # bytes of the current part
    problem: str | None = None  # set when a stray marker already spoiled the call

    def add_bytes(self, data: bytes) -> None:
        self.buf += data
        self.raw.append(data.decode("utf-8", errors="replace"))

    def add_marker_text(self, marker: Marker) -> None:
        self.buf += marker.value.encode()
        self.raw.append(marker.value)

    def end_part(self) -> None:
        text = self.buf.decode("utf-8", errors="replace")
        self.buf.clear()
        if self.in_string:
            self.parts.append(_Str(text))
        elif text:
            self.parts.append(text)

    def raw_text(self) -> str:
        # Joined per unit, so a multi-byte char split across tokens may show as
        # replacement chars here; the parsed values are decoded whole.
        return Marker.CALL_OPEN.value + "".join(self.raw)


class CallSyntaxError(ValueError):
    pass


class _ValueParser:
    """Recursive descent over call text, where strings are already atoms."""

    _NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

    def __init__(self, parts: Sequence[str | _Str]) -> None:
        self.items: list[str | _Str] = []
        for part in parts:
            if isinstance(part, _Str):
                self.items.append(part)
            else:
                self.items.extend(part)
        self.pos = 0

    def peek(self) -> str | _Str | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def skip_ws(self) -> None:
        while (item := self.peek()) is not None and isinstance(item, str) and item.isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_ws()
        if self.peek() != char:
            raise CallSyntaxError(f"expected {char!r} at {self._where()}")
        self.pos += 1

    def _where(self) -> str:
        item = self.peek()
        if item is None:
            return "the end of the call"
        if isinstance(item, _Str):
            return f"string {item.value[:20]!r}"
        rest = "".join(i if isinstance(i, str) else '<|"|>' for i in self.items[self.pos :][:20])
        return repr(rest)

    def read_until(self, stops: str) -> str:
        out = []
        while (item := self.peek()) is not None and isinstance(item, str) and item not in stops:
            out.append(item)
            self.pos += 1
        return "".join(out)

    def call(self) -> tuple[str, dict[str, Any]]:
        self.skip_ws()
        head = self.read_until("{")
        if not head.startswith("call:"):
            raise CallSyntaxError("a tool call must start with 'call:NAME{'")
        name = head[len("call:") :].strip()
        if not name:
            raise CallSyntaxError("the tool call has no name")
        if self.peek() != "{":
            raise CallSyntaxError(f"expected '{{' after the tool name {name!r}")
        args = self.value()
        self.skip_ws()
        if self.peek() is not None:
            raise CallSyntaxError(f"unexpected text after the arguments: {self._where()}")
        assert isinstance(args, dict)
        return name, args

    def value(self) -> Any:
        self.skip_ws()
        item = self.peek()
        if item is None:
            raise CallSyntaxError("a value is missing at the end of the call")
        if isinstance(item, _Str):
            self.pos += 1
            return item.value
        if item == "{":
            return self.obj()
        if item == "[":
            return self.array()
        word = self.read_until(",}]{[").strip()
        if self.peek() is not None and isinstance(self.peek(), _Str):
            raise CallSyntaxError(f"unexpected string after {word!r}")
        if word == "true":
            return True
        if word == "false":
            return False
        if word == "null":
            return None
        if self._NUMBER.fullmatch(word):
            number = float(word)
            if re.fullmatch(r"-?\d+", word):
                return int(word)
            return number
        if not word:
            raise CallSyntaxError(f"a value is missing at {self._where()}")
        raise CallSyntaxError(f'{word!r} is not a value (strings go between <|"|> markers)')

    def obj(self) -> dict[str, Any]:
        self.expect("{")
        out: dict[str, Any] = {}
        self.skip_ws()
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            self.skip_ws()
            item = self.peek()
            if isinstance(item, _Str):
                key = item.value
                self.pos += 1
            else:
                key = self.read_until(":{}[],").strip()
            if not key:
                raise CallSyntaxError(f"a key is missing at {self._where()}")
            self.expect(":")
            out[key] = self.value()
            self.skip_ws()
            nxt = self.peek()
            self.pos += 1
            if nxt == "}":
                return out
            if nxt != ",":
                self.pos -= 1
                raise CallSyntaxError(f"expected ',' or '}}' at {self._where()}")

    def array(self) -> list[Any]:
        self.expect("[")
        out: list[Any] = []
        self.skip_ws()
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            self.skip_ws()
            nxt = self.peek()
            self.pos += 1
            if nxt == "]":
                return out
            if nxt != ",":
                self.pos -= 1
                raise CallSyntaxError(f"expected ',' or ']' at {self._where()}")


def check_call(
    name: str, arguments: dict[str, Any], tools: dict[str, ToolSpec] | None, raw: str
) -> ToolCall | ToolCallError:
    """Known tool and arguments that fit its schema, or the error for the model."""
    if tools is None:
        return ToolCall(name, arguments, raw)
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        return ToolCallError(f"unknown tool {name!r}; available tools: {known}", raw)
    arguments = coerce(arguments, tool.parameters)
    problems = validate(arguments, tool.parameters)
    if problems:
        return ToolCallError(f"invalid arguments for {name}: " + "; ".join(problems), raw)
    return ToolCall(name, arguments, raw)


def parse_call_text(
    parts: Sequence[str | _Str], tools: dict[str, ToolSpec] | None, raw: str
) -> ToolCall | ToolCallError:
    try:
        name, args = _ValueParser(parts).call()
    except CallSyntaxError as exc:
        return ToolCallError(f"malformed tool call: {exc}", raw)
    except RecursionError:
        return ToolCallError("malformed tool call: nested too deeply", raw)
    return check_call(name, args, tools, raw)


class Gemma4Machine:
    """The unit-level state machine shared by the streaming and whole-text parsers."""

    def __init__(self, tools: Sequence[ToolSpec] | None) -> None:
        self._tools = tools_by_name(tools) if tools is not None else None
        self._state = _State.TEXT
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._header = ""
        self._call: _Call | None = None
        self._calls_seen = 0
        self._end: Marker | None = None
        self._finished = False

    # -- input -------------------------------------------------------------

    def data(self, data: bytes) -> list[Event]:
        if self._state is _State.DONE or not data:
            return []
        if self._state is _State.CALL:
            assert self._call is not None
            self._call.add_bytes(data)
            return []
        return self._text(self._decoder.decode(data))

    def marker(self, marker: Marker) -> list[Event]:
        state = self._state
        if state is _State.DONE:
            return []
        if state is _State.CALL:
            return self._call_marker(marker)
        events = self._flush_text()
        if marker in END_MARKERS:
            self._end = marker
            self._state = _State.DONE
        elif marker is Marker.CALL_OPEN:
            self._state = _State.CALL
            self._call = _Call()
        elif marker is Marker.CHANNEL_OPEN and state is _State.TEXT:
            self._state = _State.CHANNEL_HEADER
            self._header = ""
        elif marker is Marker.CHANNEL_CLOSE and state is not _State.TEXT:
            if state is _State.CHANNEL_HEADER:
                events += self._header_as_thought(closing=True)
            self._state = _State.TEXT
        # Anything else is a marker out of place (a stray `<channel|>` or
        # `<tool_call|>`, a `<|"|>` in prose): it carries no text, so it is dropped
        # and the turn goes on.
        return events

    def other_control(self, text: str) -> list[Event]:
        """A control token that is not a Gemma 4 marker (`<pad>`, `<|image|>`…)."""
        if self._state is _State.CALL:
            assert self._call is not None
            if self._call.in_string:
                self._call.add_bytes(text.encode())
            else:
                self._call.raw.append(text)
                self._call.problem = self._call.problem or f"unexpected token {text!r} in the call"
        return []

    def finish(self, reason: StopReason | None) -> list[Event]:
        if self._finished:
            return []
        self._finished = True
        events = self._flush_text()
        if self._state is _State.CALL:
            assert self._call is not None
            why = (
                "cut off by the token limit"
                if reason is StopReason.MAX_TOKENS
                else "not closed with <tool_call|> before generation stopped"
            )
            if self._call.in_string:
                why = "unterminated string: " + why
            events.append(ToolCallError(f"tool call {why}", self._call.raw_text()))
            self._calls_seen += 1
            self._call = None
        self._state = _State.DONE
        events.append(Done(self._reason(reason)))
        return events

    # -- helpers -------------------------------------------------------------

    def _reason(self, reason: StopReason | None) -> StopReason:
        if reason in (StopReason.CANCELLED, StopReason.ERROR):
            assert reason is not None
            return reason
        if self._calls_seen:
            # Calls and call errors both need an answer from the agent loop.
            return StopReason.TOOL_CALL
        if self._end is not None:
            return StopReason.END_OF_TURN
        return reason or StopReason.MAX_TOKENS

    def _text(self, text: str) -> list[Event]:
        if not text:
            return []
        state = self._state
        if state is _State.TEXT:
            return [TextDelta(text)]
        if state is _State.THOUGHT:
            return [ThoughtDelta(text)]
        # Channel header: "thought\n" names the channel; the rest is thought text.
        self._header += text
        if "\n" in self._header:
            _name, _, rest = self._header.partition("\n")
            self._header = ""
            self._state = _State.THOUGHT
            return [ThoughtDelta(rest)] if rest else []
        if len(self._header) > _MAX_CHANNEL_HEADER:
            return self._header_as_thought(closing=False)
        return []

    def _header_as_thought(self, closing: bool) -> list[Event]:
        header, self._header = self._header, ""
        self._state = _State.THOUGHT
        if closing and header.strip() == "thought":
            return []
        return [ThoughtDelta(header)] if header else []

    def _flush_text(self) -> list[Event]:
        tail = self._decoder.decode(b"", final=True)
        self._decoder.reset()
        return self._text(tail) if tail and self._state is not _State.CALL else []

    def _call_marker(self, marker: Marker) -> list[Event]:
        call = self._call
        assert call is not None
        if call.in_string:
            if marker is Marker.QUOTE:
                call.end_part()
                call.in_string = False
                call.raw.append(marker.value)
                return []
            if marker in END_MARKERS:
                return self._end_call_at(marker, "unterminated string at the end of generation")
            call.add_marker_text(marker)  # inside a string a marker is just text
            return []
        if marker is Marker.QUOTE:
            call.end_part()
            call.in_string = True
            call.raw.append(marker.value)
            return []
        if marker is Marker.CALL_CLOSE:
            call.end_part()
            call.raw.append(marker.value)
            raw = call.raw_text()
            self._call = None
            self._state = _State.TEXT
            self._calls_seen += 1
            if call.problem:
                return [ToolCallError(f"malformed tool call: {call.problem}", raw)]
            return [parse_call_text(call.parts, self._tools, raw)]
        if marker in END_MARKERS:
            return self._end_call_at(marker, "end of generation inside a tool call")
        if marker is Marker.CALL_OPEN:
            # A new call opened before this one closed: report it, start the new one.
            self._calls_seen += 1
            events: list[Event] = [
                ToolCallError("tool call not closed before the next one", call.raw_text())
            ]
            self._call = _Call()
            return events
        call.raw.append(marker.value)
        call.problem = call.problem or f"unexpected {marker.value} inside the call"
        return []

    def _end_call_at(self, marker: Marker, message: str) -> list[Event]:
        call = self._call
        assert call is not None
        self._calls_seen += 1
        self._call = None
        self._end = marker
        self._state = _State.DONE
        return [ToolCallError(message, call.raw_text())]


class Gemma4StreamParser:
    """`StreamParser` over generated token ids."""

    def __init__(
        self,
        vocab: Gemma4Vocab,
        tools: Sequence[ToolSpec] | None = None,
        is_control: Any = None,
    ) -> None:
        self._markers = vocab.by_id()
        self._is_control = is_control
        self._machine = Gemma4Machine(tools)

    @property
    def stop_requested(self) -> bool:
        """Never: every end of a Gemma 4 turn is a marker id the engine stops on."""
        return False

    @property
    def writing_call(self) -> str | None:
        """The tool whose call is being generated ("" until its name is
        complete), or None outside a call: lets the UI say "writing edit_file
        call…" while a long call streams."""
        call = self._machine._call if self._machine._state is _State.CALL else None
        if call is None:
            return None
        head = "".join(call.raw)
        if not head.startswith("call:") or "{" not in head:
            return ""
        return head[len("call:") : head.index("{")].strip()

    def feed(self, token: GeneratedToken) -> list[Event]:
        try:
            marker = self._markers.get(token.id)
            if marker is not None:
                return self._machine.marker(marker)
            if self._is_control is not None and self._is_control(token.id):
                return self._machine.other_control(token.piece.decode("utf-8", "replace"))
            return self._machine.data(token.piece)
        except Exception as exc:  # never let bad output take the turn down
            return [ToolCallError(f"internal parser error: {exc!r}", "")]

    def feed_all(self, tokens: Sequence[GeneratedToken]) -> list[Event]:
        events: list[Event] = []
        for token in tokens:
            events += self.feed(token)
        return events

    def finish(self, reason: StopReason | None = None) -> list[Event]:
        try:
            return self._machine.finish(reason)
        except Exception as exc:
            return [ToolCallError(f"internal parser error: {exc!r}", ""), Done(StopReason.ERROR)]


_MARKER_RE = re.compile(
    "|".join(re.escape(m.value) for m in sorted(Marker, key=lambda m: -len(m.value)))
)
_BY_TEXT = {m.value: m for m in Marker}


def parse_events(text: str, tools: Sequence[ToolSpec] | None = None) -> list[Event]:
    """Events for a whole string; marker strings in it count as markers."""
    machine = Gemma4Machine(tools)
    events: list[Event] = []
    pos = 0
    for match in _MARKER_RE.finditer(text):
        events += machine.data(text[pos : match.start()].encode())
        events += machine.marker(_BY_TEXT[match.group()])
        pos = match.end()
    events += machine.data(text[pos:].encode())
    events += machine.finish(None)
    return events


def collect(events: Sequence[Event]) -> ParsedTurn:
    turn = ParsedTurn()
    content: list[str] = []
    reasoning: list[str] = []
    for event in events:
        if isinstance(event, TextDelta):
            content.append(event.text)
        elif isinstance(event, ThoughtDelta):
            reasoning.append(event.text)
        elif isinstance(event, ToolCall):
            turn.tool_calls.append(event)
        elif isinstance(event, ToolCallError):
            turn.errors.append(event)
    turn.content = "".join(content).strip()
    turn.reasoning = "".join(reasoning).strip()
    return turn


def parse(text: str, tools: Sequence[ToolSpec] | None = None) -> ParsedTurn:
    """Parse one whole model turn. Without `tools` any call name is accepted."""
    return collect(parse_events(text, tools))
