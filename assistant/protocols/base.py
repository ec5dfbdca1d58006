"""What the agent loop needs from a chat protocol, independent of the model family.

One path builds every prompt: `render_messages` lays a conversation out as the
model's own chat template renders it (see `template.py`), with untrusted text
tokenized as plain text and the model's own output kept as the ids it
generated (`Message.content_ids`). A conversation that grows re-renders whole;
where the template lays history out differently from what was generated
(thoughts dropped, a cue after tool results) the prompt differs from the cached
ids from that token on, and the engine evaluates only from there.

One turn with tool calls, as the agent loop drives it:

    messages = [Message(SYSTEM, system), Message(USER, text)]
    loop:
        prompt = proto.render_messages(messages, tools, think)
        parser = proto.new_parser(tools)
        request = GenerationRequest(prompt, grammar=proto.grammar(tools, choice, think),
                                    stop_ids=proto.stop_ids)
        for tok in engine.generate(request): ids.append(tok.id); events += parser.feed(tok)
        out = proto.read_output(ids)           # content ids, thought, calls
        messages.append(Message(ASSISTANT, out.content, content_ids=out.content_ids, …,
                                tool_calls=…, tool_results=results))
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
    # The model's thought text; the template decides whether it is replayed
    # (the July 2026 Gemma 4 templates keep it for turns after the last user turn).
    reasoning: str = ""
    # The ids the model generated for `content` / `reasoning`: when set they go
    # into the prompt unchanged instead of a re-tokenization of the text.
    content_ids: tuple[int, ...] | None = None
    reasoning_ids: tuple[int, ...] | None = None
    # A user message made of parts that are tokenized one by one, so a part
    # shared by many prompts (a repo map) is the same ids in each.
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelOutput:
    """What one generation contains, read from its ids: the visible text (with
    the ids that make it, edge whitespace trimmed), the thought and the calls."""

    content: str = ""
    content_ids: tuple[int, ...] | None = None
    reasoning: str = ""
    reasoning_ids: tuple[int, ...] | None = None
    calls: tuple[ToolCall | ToolCallError, ...] = ()


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

    @property
    def stop_requested(self) -> bool:
        """True once the parser has seen the turn end where no token id marks
        it, so the engine cannot stop by itself (a `<tool_response>` tag in a
        generic protocol's text): the caller stops generating."""
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

    @property
    def template_info(self) -> TemplateInfo:
        """What was detected about the chat template (for `model info`, --trace)."""
        ...

    def read_output(self, ids: Sequence[int]) -> ModelOutput:
        """Split one generation into content, thought and calls."""
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
    ) -> list[int]:
        """The conversation as the chat template renders it, as ids."""
        ...


@dataclass(frozen=True)
class TemplateInfo:
    kind: str  # "July 2026 canonical" | "April" | "custom" | "other"
    thinking: str  # how thinking on/off shows in the prompt, in words
    source: str = "gguf"  # gguf | a path given by the user | builtin


def tools_by_name(tools: Sequence[ToolSpec]) -> dict[str, ToolSpec]:
    return {tool.name: tool for tool in tools}
