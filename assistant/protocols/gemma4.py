"""The Gemma 4 chat protocol: prompts as token ids, output as events.

Turn layout (from the GGUF's chat template):

    <bos><|turn>system\n[<|think|>]SYSTEM<|tool>declaration:…<tool|>…<turn|>\n
    <|turn>user\nTEXT<turn|>\n
    <|turn>model\n[<|channel>thought\n<channel|>]      (empty thought = thinking off)
        …text… <|tool_call>call:NAME{…}<tool_call|> <|tool_response>   ← model stops
        response:NAME{…}<tool_response|>[<|channel>thought\n<channel|>] ← we append
        …answer…<turn|>                                                ← model stops
    \n<|turn>user\n…
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from assistant.llm.engine import GrammarSpec
from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.base import (
    GrammarOptions,
    Message,
    ParsedTurn,
    Role,
    ToolChoice,
    ToolResult,
)
from assistant.protocols.gemma4_format import (
    Gemma4Vocab,
    Marker,
    Segments,
    format_call,
    format_declaration,
    format_response,
    strip_thinking,
)
from assistant.protocols.gemma4_grammar import gemma4_grammar
from assistant.protocols.gemma4_parser import Gemma4StreamParser
from assistant.protocols.gemma4_parser import parse as _parse
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

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab = Gemma4Vocab.load(tokenizer)  # fails clearly on a non-Gemma-4 vocab
        self._protected = self.vocab.protected | tokenizer.protected_ids
        self._stop_ids = frozenset(
            self.vocab[m] for m in (Marker.EOS, Marker.TURN_CLOSE, Marker.RESPONSE_OPEN)
        )

    @property
    def stop_ids(self) -> frozenset[int]:
        return self._stop_ids

    @property
    def protected_ids(self) -> frozenset[int]:
        """Ids that untrusted text never becomes."""
        return self._protected

    # -- building ids ----------------------------------------------------------

    def ids(self, segments: Segments) -> list[int]:
        builder = TokenBuilder(self.tokenizer, self._protected, (m.value for m in Marker))
        for segment in segments:
            if isinstance(segment, Marker):
                builder.control(self.vocab[segment])
            else:
                builder.text(segment)
        return builder.ids()

    def _system_segments(
        self, system: str | None, tools: Sequence[ToolSpec], think: bool
    ) -> Segments:
        segs: Segments = [Marker.BOS]
        if not (think or tools or system is not None):
            return segs
        segs += [Marker.TURN_OPEN, "system\n"]
        if think:
            segs.append(Marker.THINK)
        if system is not None:
            segs.append(system.strip())
        for tool in tools:
            segs += [Marker.TOOL_OPEN, *format_declaration(tool), Marker.TOOL_CLOSE]
        segs += [Marker.TURN_CLOSE, "\n"]
        return segs

    @staticmethod
    def _empty_thought(think: bool) -> Segments:
        # With thinking off the template pre-fills an empty thought channel.
        return [] if think else [Marker.CHANNEL_OPEN, "thought\n", Marker.CHANNEL_CLOSE]

    def _generation_prompt(self, think: bool) -> Segments:
        return [Marker.TURN_OPEN, "model\n", *self._empty_thought(think)]

    # -- the incremental pieces (append-only history) ------------------------

    def prefix(self, system: str, tools: Sequence[ToolSpec], think: bool) -> list[int]:
        return self.ids(self._system_segments(system if system.strip() else None, tools, think))

    def user_turn(self, text: str, think: bool) -> list[int]:
        segs: Segments = [Marker.TURN_OPEN, "user\n", text.strip(), Marker.TURN_CLOSE, "\n"]
        return self.ids(segs + self._generation_prompt(think))

    def tool_results(
        self, results: Sequence[ToolResult], *, last_token: int | None, think: bool
    ) -> list[int]:
        segs: Segments = []
        opened = last_token == self.vocab[Marker.RESPONSE_OPEN]
        if last_token == self.vocab[Marker.TURN_CLOSE]:
            # The model closed its turn after calling: reopen a model turn for the results.
            segs += ["\n", Marker.TURN_OPEN, "model\n"]
        elif last_token == self.vocab[Marker.EOS]:
            segs += [Marker.TURN_CLOSE, "\n", Marker.TURN_OPEN, "model\n"]
        for i, result in enumerate(results):
            if i or not opened:
                segs.append(Marker.RESPONSE_OPEN)
            segs += format_response(result.name, _result_payload(result))
        segs += self._empty_thought(think)
        return self.ids(segs)

    def close_model_turn(self, *, last_token: int | None) -> list[int]:
        if last_token == self.vocab[Marker.TURN_CLOSE]:
            return self.ids(["\n"])
        return self.ids([Marker.TURN_CLOSE, "\n"])

    def strip_thoughts(self, generated: Sequence[int]) -> list[int]:
        """`generated` without its `<|channel>…<channel|>` spans. Optional: the
        template drops earlier turns' thoughts; a session that wants the same
        can replace a *finished* turn's ids with these (the KV cache then
        re-evaluates from the first thought). Never within a tool-call turn."""
        open_id, close_id = self.vocab[Marker.CHANNEL_OPEN], self.vocab[Marker.CHANNEL_CLOSE]
        out: list[int] = []
        inside = False
        for token in generated:
            if token == open_id:
                inside = True
            elif token == close_id and inside:
                inside = False
            elif not inside:
                out.append(token)
        return out

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
        """The whole conversation as the template renders it (thoughts dropped)."""
        system: str | None = None
        rest = list(messages)
        if rest and rest[0].role is Role.SYSTEM:
            system = rest.pop(0).content
        segs = self._system_segments(system, tools, think)
        last_had_results = False
        for message in rest:
            role = "model" if message.role is Role.ASSISTANT else message.role.value
            segs += [Marker.TURN_OPEN, f"{role}\n"]
            for call in message.tool_calls:
                segs += format_call(call.name, call.arguments)
            for result in message.tool_results:
                segs += [
                    Marker.RESPONSE_OPEN,
                    *format_response(result.name, _result_payload(result)),
                ]
            if role == "model":
                segs.append(strip_thinking(message.content))
            else:
                segs.append(message.content.strip())
            last_had_results = bool(message.tool_results)
            if not (message.tool_results and not message.content):
                segs += [Marker.TURN_CLOSE, "\n"]
        if add_generation_prompt:
            if not last_had_results:
                segs += [Marker.TURN_OPEN, "model\n"]
            segs += self._empty_thought(think)
        return self.ids(segs)
