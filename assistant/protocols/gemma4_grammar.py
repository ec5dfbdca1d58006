"""GBNF for Gemma 4 tool calls.

Control tokens appear as token references (`<[id]>`), with the ids of the loaded
vocabulary, so the sampler matches the `<|"|>` token itself, never the five
characters. String content is "any token but `<|"|>`" (`!<[id]>`); a string
always follows a token reference, never a character, because llama.cpp can't
mix a partly consumed token with a negated token reference."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from assistant.llm.engine import GrammarSpec
from assistant.protocols.base import GrammarOptions, ToolChoice, ToolChoiceMode
from assistant.protocols.gemma4_format import Gemma4Vocab, Marker
from assistant.protocols.grammar import (
    GrammarBuilder,
    _trie_expr,
    gbnf_literal,
    repeat,
    tools_for_choice,
)
from assistant.toolspec import ToolSpec


class Gemma4Syntax:
    def __init__(self, vocab: Gemma4Vocab) -> None:
        self.quote = f"<[{vocab[Marker.QUOTE]}]>"

    def string(
        self, max_tokens: int | None, min_chars: int = 0, max_chars: int | None = None
    ) -> str:
        # A value is counted in tokens here, which span several characters:
        # character bounds cannot be expressed (no tool declares them).
        return f"{self.quote} {repeat('!' + self.quote, 0, max_tokens)} {self.quote}"

    def string_of(self, literals: Sequence[str]) -> str:
        return f"{self.quote} {_trie_expr(literals)} {self.quote}"

    def key(self, name: str) -> str:
        return gbnf_literal(f"{name}:")

    def generic_value(self) -> str:
        return "g4-value"

    def rules(self) -> dict[str, str]:
        q = self.quote
        return {
            "g4-value": "g4-string | g4-object | g4-array | g4-number | g4-literal",
            "g4-string": f"{q} !{q}* {q}",
            "g4-number": '"-"? [0-9]+ ("." [0-9]+)? ([eE] [-+]? [0-9]+)?',
            "g4-literal": '"true" | "false" | "null"',
            "g4-key": "[a-zA-Z_] [a-zA-Z0-9_.-]*",
            "g4-object": '"{" (g4-key ":" g4-value ("," g4-key ":" g4-value)*)? "}"',
            "g4-array": '"[" (g4-value ("," g4-value)*)? "]"',
        }


def gemma4_grammar(
    vocab: Gemma4Vocab,
    tools: Sequence[ToolSpec],
    tool_choice: ToolChoice | str = "auto",
    *,
    think: bool = False,
    existing_paths: Collection[str] | None = None,
    options: GrammarOptions | None = None,
) -> GrammarSpec | None:
    """The grammar for one generation, or None when nothing is constrained.

    auto: free text and thoughts until the model samples `<|tool_call>`; from
    there on only well-formed calls to declared tools, then the end.
    required / a named tool: from the first token, an optional thought (when
    thinking) and then the calls."""
    resolved = tools_for_choice(tools, tool_choice)
    if resolved is None:
        return None
    choice, tools = resolved
    options = options or GrammarOptions()
    builder = GrammarBuilder(Gemma4Syntax(vocab), options, existing_paths)
    alts = []
    for tool in tools:
        args = builder.arguments(tool)
        alts.append(builder.add(f"call-{tool.name}", f"{gbnf_literal(tool.name)} {args}"))
    open_, close = f"<[{vocab[Marker.CALL_OPEN]}]>", f"<[{vocab[Marker.CALL_CLOSE]}]>"
    builder.add("call", f'{open_} "call:" ({" | ".join(alts)}) {close}')
    calls = "call+" if options.parallel_calls else "call"
    if choice.mode is ToolChoiceMode.AUTO:
        return GrammarSpec(
            gbnf=builder.render(calls), trigger_ids=frozenset({vocab[Marker.CALL_OPEN]})
        )
    root = calls
    if think:
        chan_open, chan_close = (
            f"<[{vocab[Marker.CHANNEL_OPEN]}]>",
            f"<[{vocab[Marker.CHANNEL_CLOSE]}]>",
        )
        builder.add("thought", f"{chan_open} !{chan_close}* {chan_close}")
        root = f"thought? {calls}"
    return GrammarSpec(gbnf=builder.render(root))
