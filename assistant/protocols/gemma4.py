"""The Gemma 4 chat protocol: prompts as token ids, output as events.

The layout comes from the GGUF's own chat template (or the user's override),
rendered by `template.py`; nothing here hard-codes where a thought block or a
cue goes, because Gemma 4 templates differ by size and by date:

    <bos><|turn>system\n[<|think|>[\n]]SYSTEM<|tool>declaration:…<tool|>…<turn|>\n
    <|turn>user\nTEXT<turn|>\n
    <|turn>model\n[<|channel>thought\n<channel|>]   ← April 26B/31B only, thinking off
        …text… <|tool_call>call:NAME{…}<tool_call|> <|tool_response>   ← model stops
        response:NAME{…}<tool_response|>[cue]       ← the template's post-tool cue
        …answer…<turn|>                              ← model stops

What this module knows is the vocabulary (markers, stop ids), how to read a
generation (`read_output`) and the tool-call grammar.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from assistant.events import ToolCall, ToolCallError
from assistant.llm.engine import GeneratedToken, GrammarSpec
from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.base import (
    GrammarOptions,
    Message,
    ModelOutput,
    ParsedTurn,
    Role,
    TemplateInfo,
    ToolChoice,
    ToolResult,
)
from assistant.protocols.gemma4_format import Gemma4Vocab, Marker, Segments
from assistant.protocols.gemma4_grammar import gemma4_grammar
from assistant.protocols.gemma4_parser import Gemma4StreamParser
from assistant.protocols.gemma4_parser import parse as _parse
from assistant.protocols.template import (
    ChatTemplate,
    Limits,
    OwnIds,
    Slots,
    TemplateKind,
    Untrusted,
    gemma4_kind,
    plain_text,
    to_ids,
)
from assistant.protocols.tokens import TokenBuilder
from assistant.toolspec import ToolSpec

__all__ = ["Gemma4Protocol", "parse"]


def parse(text: str, tools: Sequence[ToolSpec] | None = None) -> ParsedTurn:
    """Parse a whole Gemma 4 model turn given as text (marker strings count)."""
    return _parse(text, tools)


def _result_payload(result: ToolResult) -> Any:
    if result.is_error and isinstance(result.content, str):
        return {"error": result.content}
    return result.content


class Gemma4Protocol:
    name = "gemma4"

    def __init__(
        self,
        tokenizer: Tokenizer,
        chat_template: str,
        *,
        source: str = "gguf",
        limits: Limits | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab = Gemma4Vocab.load(tokenizer)  # fails clearly on a non-Gemma-4 vocab
        self._protected = self.vocab.protected | tokenizer.protected_ids
        self._stop_ids = frozenset(
            self.vocab[m] for m in (Marker.EOS, Marker.TURN_CLOSE, Marker.RESPONSE_OPEN)
        )
        bos = tokenizer.piece(self.vocab[Marker.BOS]).decode("utf-8", "replace")
        eos = tokenizer.piece(self.vocab[Marker.EOS]).decode("utf-8", "replace")
        self.template = ChatTemplate(chat_template, bos_token=bos, eos_token=eos, limits=limits)
        kind = gemma4_kind(chat_template)
        if source != "gguf" and kind is not TemplateKind.OTHER:
            label = f"{TemplateKind.CUSTOM.value} ({kind.value} layout)"
        else:
            label = kind.value
        self._info = TemplateInfo(label, describe_thinking(self.template), source)

    @property
    def template_info(self) -> TemplateInfo:
        return self._info

    @property
    def stop_ids(self) -> frozenset[int]:
        return self._stop_ids

    @property
    def protected_ids(self) -> frozenset[int]:
        """Ids that untrusted text never becomes."""
        return self._protected

    def ids(self, segments: Segments) -> list[int]:
        """Ids for markers and texts (texts always plain): for building model
        output in tests and tools, never a prompt layout (that is the template's)."""
        builder = TokenBuilder(self.tokenizer, self._protected, (m.value for m in Marker))
        for segment in segments:
            if isinstance(segment, Marker):
                builder.control(self.vocab[segment])
            else:
                builder.text(segment)
        return builder.ids()

    # -- reading a generation ---------------------------------------------------

    def read_output(self, ids: Sequence[int]) -> ModelOutput:
        v = self.vocab
        chan_open, chan_close = v[Marker.CHANNEL_OPEN], v[Marker.CHANNEL_CLOSE]
        call_open, call_close = v[Marker.CALL_OPEN], v[Marker.CALL_CLOSE]
        ends = {v[Marker.EOS], v[Marker.TURN_CLOSE], v[Marker.RESPONSE_OPEN]}
        content: list[int] = []
        thought: list[int] = []
        # A prompt that ends in an open thought (the July templates' cue after
        # tool results) makes the generation start inside it, with no header.
        opened_by_prompt = chan_close in ids and (
            chan_open not in ids or ids.index(chan_close) < ids.index(chan_open)
        )
        mode = "thought" if opened_by_prompt else "text"
        for token in ids:
            if mode == "text":
                if token == chan_open:
                    mode = "thought"
                elif token == call_open:
                    mode = "call"
                elif token not in ends:
                    content.append(token)
            elif mode == "thought":
                if token == chan_close:
                    mode = "text"
                else:
                    thought.append(token)
            elif token == call_close:
                mode = "text"
        # No tool list: the history shows every call as written, known or not.
        parser = Gemma4StreamParser(self.vocab, None, is_control=self.tokenizer.is_control)
        events = [e for t in ids for e in parser.feed(GeneratedToken(t, self.tokenizer.piece(t)))]
        events += parser.finish()
        calls = tuple(e for e in events if isinstance(e, ToolCall | ToolCallError))
        text, text_ids = _trimmed(self.tokenizer, content)
        reasoning, reasoning_ids = self._thought(thought, header=not opened_by_prompt)
        return ModelOutput(text, text_ids, reasoning, reasoning_ids, calls)

    def _thought(self, ids: list[int], header: bool) -> tuple[str, tuple[int, ...] | None]:
        """The thought after its `thought\n` header; its own ids when the header
        ends on a token boundary."""
        text = self.tokenizer.detokenize(ids)
        if not header:
            return (text, tuple(ids)) if text == text.strip() else (text.strip(), None)
        body = text.removeprefix("thought\n")
        seen = ""
        for i, token in enumerate(ids):
            seen += self.tokenizer.piece(token).decode("utf-8", "replace")
            if seen == "thought\n":
                rest = ids[i + 1 :]
                if self.tokenizer.detokenize(rest) == body and body == body.strip():
                    return body, tuple(rest)
                break
            if len(seen) >= len("thought\n"):
                break
        return body.strip(), None

    # -- parsing and grammar -------------------------------------------------

    def new_parser(self, tools: Sequence[ToolSpec] = ()) -> Gemma4StreamParser:
        return Gemma4StreamParser(self.vocab, tools, is_control=self.tokenizer.is_control)

    def grammar(
        self,
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice | str = "auto",
        *,
        think: bool = False,
        existing_paths: Collection[str] | None = None,
        options: GrammarOptions | None = None,
    ) -> GrammarSpec | None:
        return gemma4_grammar(
            self.vocab,
            tools,
            tool_choice,
            think=think,
            existing_paths=existing_paths,
            options=options,
        )

    # -- whole conversations ---------------------------------------------------

    def render_messages(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        think: bool = False,
        add_generation_prompt: bool = True,
    ) -> list[int]:
        """The conversation as the chat template renders it."""
        slots = Slots()
        rendered = self.template.render(
            [_jinja_message(m, slots) for m in messages],
            tools=[_jinja_tool(t) for t in tools],
            add_generation_prompt=add_generation_prompt,
            enable_thinking=think,
        )
        return to_ids(
            self.tokenizer,
            rendered,
            slots.pieces,
            self._protected,
            (m.value for m in Marker),
        )

    def render_text(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        think: bool = False,
        add_generation_prompt: bool = True,
    ) -> str:
        """The same rendering as plain text (for tests and --trace readers)."""
        return render_plain(self.template, messages, tools, think, add_generation_prompt)


def render_plain(
    template: ChatTemplate,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec] = (),
    think: bool = False,
    add_generation_prompt: bool = True,
) -> str:
    """A conversation rendered by a Gemma 4 template as text (no tokenizer needed)."""
    slots = Slots()
    rendered = template.render(
        [_jinja_message(m, slots) for m in messages],
        tools=[_jinja_tool(t) for t in tools],
        add_generation_prompt=add_generation_prompt,
        enable_thinking=think,
    )
    return plain_text(rendered, slots.pieces)


def describe_thinking(template: ChatTemplate) -> str:
    """What the template writes for thinking on and off, found by rendering it."""
    user = [Message(Role.USER, "u")]
    step = Message(
        Role.ASSISTANT, tool_calls=(ToolCall("f", {}),), tool_results=(ToolResult.reply("f", "r"),)
    )
    notes = []
    off = render_plain(template, user, think=False)
    empty = off.endswith("<|channel>thought\n<channel|>")
    notes.append(f"thinking off: {'empty' if empty else 'no empty'} thought block")
    on = render_plain(template, user, think=True)
    newline = "<|think|>\n" in on
    notes.append("thinking on: <|think|>" + (" and a newline" if newline else ""))
    if render_plain(template, [*user, step], think=True).endswith("<|channel>thought\n"):
        notes.append("open thought after a tool response")
    return "; ".join(notes)


def _trimmed(tokenizer: Tokenizer, ids: list[int]) -> tuple[str, tuple[int, ...] | None]:
    """Text of `ids` stripped of edge whitespace, with the ids that make it
    (None when the whitespace sits inside a token with other text)."""
    start, end = 0, len(ids)
    while start < end and not tokenizer.piece(ids[start]).strip():
        start += 1
    while end > start and not tokenizer.piece(ids[end - 1]).strip():
        end -= 1
    kept = ids[start:end]
    text = tokenizer.detokenize(kept)
    if text != text.strip():
        return text.strip(), None
    return text, tuple(kept)


def _slotted(value: Any, slots: Slots) -> Any:
    """`value` with every string replaced by an untrusted placeholder (keys stay:
    they come from the tool schemas the grammar enforces)."""
    if isinstance(value, str):
        return slots(Untrusted(value))
    if isinstance(value, Mapping):
        return {k: _slotted(v, slots) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_slotted(v, slots) for v in value]
    return value


def _text_slot(text: str, ids: tuple[int, ...] | None, slots: Slots) -> str:
    if ids is not None:
        return slots(OwnIds(ids, text)) if ids else ""
    text = text.strip()
    return slots(Untrusted(text)) if text else ""


def _jinja_message(message: Message, slots: Slots) -> dict[str, Any]:
    role = "assistant" if message.role is Role.ASSISTANT else message.role.value
    if message.parts:
        content = "".join(slots(Untrusted(p, separate=True)) for p in message.parts if p)
    else:
        content = _text_slot(message.content, message.content_ids, slots)
    out: dict[str, Any] = {"role": role, "content": content}
    if message.reasoning or message.reasoning_ids:
        thought = _text_slot(message.reasoning, message.reasoning_ids, slots)
        out["reasoning"] = out["reasoning_content"] = thought
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "type": "function",
                "function": {"name": c.name, "arguments": _slotted(c.arguments, slots)},
            }
            for c in message.tool_calls
        ]
    if message.tool_results:
        out["tool_responses"] = [
            {"name": r.name, "response": _slotted(_result_payload(r), slots)}
            for r in message.tool_results
        ]
    return out


def _jinja_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }
