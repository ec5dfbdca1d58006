"""What the agent loop needs from a chat protocol, independent of the model family.

The conversation lives as the token ids actually fed to the model (append-only),
so a protocol never re-renders history: it supplies the ids to append next
(`prefix`, `user_turn`, `tool_results`, `close_model_turn`), turns generated ids
into events (`new_parser`), and says how to constrain generation (`grammar`).
`render_messages` renders a whole conversation at once; it exists for one-shot
prompts and to check the incremental pieces against the model's own template.

One turn with tool calls, as the agent loop drives it:

    history = proto.prefix(system, tools, think)          # once per session
    history += proto.user_turn(text, think)
    loop:
        parser = proto.new_parser(tools)
        request = GenerationRequest(history, grammar=proto.grammar(tools, choice, think),
                                    stop_ids=proto.stop_ids)
        for tok in engine.generate(request): history.append(tok.id); events += parser.feed(tok)
        events += parser.finish(reason_from_engine)
        if Done.reason is TOOL_CALL:
            history += proto.tool_results(results, last_token=history[-1], think=think)
            continue
        history += proto.close_model_turn(last_token=history[-1]); break
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.events import Event, StopReason, ToolCall, ToolCallError
from assistant.llm.engine import GeneratedToken, GrammarSpec
from assistant.toolspec import ToolResult, ToolSpec


class Role(enum.Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    # Results of `tool_calls`, in the same order (assistant messages only).
    tool_results: tuple[ToolResult, ...] = ()
    # The model's thought text. Kept for display and logs only: protocols never
    # render it back into a later prompt.
    reasoning: str = ""


class ToolChoiceMode(enum.Enum):
    AUTO = "auto"  # free text, calls constrained once the model opens one
    REQUIRED = "required"  # must call (any declared tool) from the first token
    NONE = "none"  # no constraint, no call expected
    NAMED = "named"  # must call this one tool


@dataclass(frozen=True)
class ToolChoice:
    mode: ToolChoiceMode = ToolChoiceMode.AUTO
    name: str | None = None

    @classmethod
    def parse(cls, value: str | ToolChoice | None) -> ToolChoice:
        """'auto' | 'required' | 'none' | a tool name (as on the command line)."""
        if isinstance(value, ToolChoice):
            return value
        if value is None or value == "auto":
            return cls(ToolChoiceMode.AUTO)
        if value == "required":
            return cls(ToolChoiceMode.REQUIRED)
        if value == "none":
            return cls(ToolChoiceMode.NONE)
        return cls(ToolChoiceMode.NAMED, value)


@dataclass(frozen=True)
class GrammarOptions:
    """Bounds for grammar-constrained calls. Unbounded by default; a weak or
    random model needs bounds, or it can keep a string or array open until the
    token limit."""

    max_string_tokens: int | None = None
    max_array_items: int | None = None
    max_number_digits: int = 16
    parallel_calls: bool = True  # several calls in one turn


@dataclass
class ParsedTurn:
    """A whole model turn parsed at once (see each protocol's `parse`)."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    errors: list[ToolCallError] = field(default_factory=list)


class StreamParser(Protocol):
    def feed(self, token: GeneratedToken) -> list[Event]:
        """Events completed by this token (often none, never raises)."""
        ...

    def finish(self, reason: StopReason | None = None) -> list[Event]:
        """Flush and close: pending text, an error for a call left open, then
        exactly one `Done`. `reason` is what the engine knows (token limit,
        cancel); without it the parser uses what it saw."""
        ...


class ChatProtocol(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def stop_ids(self) -> frozenset[int]:
        """Ids that end a generation, besides the model's own end ids."""
        ...

    def prefix(self, system: str, tools: Sequence[ToolSpec], think: bool) -> list[int]:
        """BOS and the system turn with tool declarations: the stable part."""
        ...

    def user_turn(self, text: str, think: bool) -> list[int]:
        """A user turn, closed, followed by the opener of the model's turn."""
        ...

    def tool_results(
        self, results: Sequence[ToolResult], *, last_token: int | None, think: bool
    ) -> list[int]:
        """What to append after the model stopped for tool results, so it can
        continue the same turn. `last_token` is the last id it generated."""
        ...

    def close_model_turn(self, *, last_token: int | None) -> list[int]:
        """What to append after a finished model turn before the next user turn."""
        ...

    def new_parser(self, tools: Sequence[ToolSpec] = ()) -> StreamParser: ...

    def grammar(
        self,
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice | str = "auto",
        *,
        think: bool = False,
        existing_paths: Collection[str] | None = None,
        options: GrammarOptions | None = None,
    ) -> GrammarSpec | None: ...

    def render_messages(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        think: bool = False,
        add_generation_prompt: bool = True,
    ) -> list[int]: ...


def tools_by_name(tools: Sequence[ToolSpec]) -> dict[str, ToolSpec]:
    return {tool.name: tool for tool in tools}
