"""Gemma 4's control tokens and its text encoding of values and tool declarations.

Everything here produces `Segments`: a list of plain strings and `Marker`s
(control tokens). A `Marker` becomes its id from the loaded vocabulary, a
string is tokenized with special=False. The encodings follow the GGUF's
`tokenizer.chat_template` (Gemma 4 as shipped in llama.cpp's vocab file),
quirks included, because the prompt must equal what the template renders."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.llm.tokenizer import Tokenizer, require_token
from assistant.toolspec import ToolSpec


class Marker(enum.Enum):
    BOS = "<bos>"
    EOS = "<eos>"
    TURN_OPEN = "<|turn>"
    TURN_CLOSE = "<turn|>"
    THINK = "<|think|>"
    CHANNEL_OPEN = "<|channel>"
    CHANNEL_CLOSE = "<channel|>"
    TOOL_OPEN = "<|tool>"
    TOOL_CLOSE = "<tool|>"
    CALL_OPEN = "<|tool_call>"
    CALL_CLOSE = "<tool_call|>"
    RESPONSE_OPEN = "<|tool_response>"
    RESPONSE_CLOSE = "<tool_response|>"
    QUOTE = '<|"|>'


Segments = list[str | Marker]

# Whether a template mentions these decides that a GGUF speaks Gemma 4.
SIGNATURE_MARKERS = (Marker.TURN_OPEN, Marker.CALL_OPEN, Marker.QUOTE)


@dataclass(frozen=True)
class Gemma4Vocab:
    """Marker ids as the loaded vocabulary numbers them (never hard-coded)."""

    ids: Mapping[Marker, int]

    @classmethod
    def load(cls, tokenizer: Tokenizer) -> Gemma4Vocab:
        ids: dict[Marker, int] = {}
        for marker in Marker:
            if marker is Marker.BOS and tokenizer.bos_id is not None:
                ids[marker] = tokenizer.bos_id
                continue
            ids[marker] = require_token(tokenizer, marker.value)
        return cls(ids)

    def __getitem__(self, marker: Marker) -> int:
        return self.ids[marker]

    def by_id(self) -> dict[int, Marker]:
        return {v: k for k, v in self.ids.items()}

    @property
    def protected(self) -> frozenset[int]:
        return frozenset(self.ids.values())


def _jinja_upper(value: Any) -> str:
    # Jinja's `upper` filter stringifies first; an absent key renders empty.
    return "" if value is None else str(value).upper()


def _dictsort(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    # Jinja's `dictsort` is case-insensitive by default.
    return sorted(mapping.items(), key=lambda kv: str(kv[0]).lower())


def _scalar_text(value: Any) -> str:
    if value is None:
        # The template would print Python's "None"; the format's null is "null",
        # which is also what the parser and the grammar speak.
        return "null"
    return str(value)


def format_argument(value: Any, escape_keys: bool = True) -> Segments:
    """The template's `format_argument` macro."""
    out: Segments = []
    _format_argument(value, escape_keys, out)
    return out


def _format_argument(value: Any, escape_keys: bool, out: Segments) -> None:
    if isinstance(value, str):
        out += [Marker.QUOTE, value, Marker.QUOTE]
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(_dictsort(value)):
            if i:
                out.append(",")
            if escape_keys:
                out += [Marker.QUOTE, str(key), Marker.QUOTE]
            else:
                out.append(str(key))
            out.append(":")
            _format_argument(item, escape_keys, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _format_argument(item, escape_keys, out)
        out.append("]")
    else:
        out.append(_scalar_text(value))


_STANDARD_KEYS = ("description", "type", "properties", "required", "nullable")


def _quoted_list(items: Iterable[Any]) -> Segments:
    out: Segments = ["["]
    for i, item in enumerate(items):
        if i:
            out.append(",")
        out += [Marker.QUOTE, str(item), Marker.QUOTE]
    out.append("]")
    return out


def format_parameters(properties: Mapping[str, Any]) -> Segments:
    """The template's `format_parameters` macro, quirks and all (for instance a
    nested object without a description renders as `{,properties:…`)."""
    out: Segments = []
    first = True
    for key, value in _dictsort(properties):
        if key in _STANDARD_KEYS:
            continue
        if not first:
            out.append(",")
        first = False
        value = value if isinstance(value, Mapping) else {}
        out.append(f"{key}:{{")
        add_comma = False
        if value.get("description"):
            out += ["description:", Marker.QUOTE, str(value["description"]), Marker.QUOTE]
            add_comma = True
        if value.get("nullable"):
            if add_comma:
                out.append(",")
            add_comma = True
            out.append("nullable:true")
        kind = _jinja_upper(value.get("type"))
        if kind == "STRING":
            if value.get("enum"):
                if add_comma:
                    out.append(",")
                add_comma = True
                out.append("enum:")
                out += format_argument(value["enum"])
        elif kind == "OBJECT":
            out.append(",properties:{")
            nested = value.get("properties")
            out += format_parameters(nested if isinstance(nested, Mapping) else value)
            out.append("}")
            if value.get("required"):
                out.append(",required:")
                out += _quoted_list(value["required"])
        elif kind == "ARRAY":
            items = value.get("items")
            if isinstance(items, Mapping) and items:
                out.append(",items:{")
                first_item = True
                for item_key, item_value in _dictsort(items):
                    if item_value is None:
                        continue
                    if not first_item:
                        out.append(",")
                    first_item = False
                    if item_key == "properties":
                        out.append("properties:{")
                        if isinstance(item_value, Mapping):
                            out += format_parameters(item_value)
                        out.append("}")
                    elif item_key == "required":
                        out.append("required:")
                        out += _quoted_list(item_value)
                    elif item_key == "type":
                        out.append("type:")
                        if isinstance(item_value, str):
                            out += format_argument(item_value.upper())
                        else:
                            out += format_argument([_jinja_upper(t) for t in item_value])
                    else:
                        out.append(f"{item_key}:")
                        out += format_argument(item_value)
                out.append("}")
        if add_comma:
            out.append(",")
        out += ["type:", Marker.QUOTE, kind, Marker.QUOTE, "}"]
    return out


def format_declaration(tool: ToolSpec) -> Segments:
    """The template's `format_function_declaration` macro for one tool."""
    out: Segments = [
        f"declaration:{tool.name}{{description:",
        Marker.QUOTE,
        tool.description,
        Marker.QUOTE,
    ]
    params = tool.parameters
    if params:
        out.append(",parameters:{")
        if params.get("properties"):
            out.append("properties:{")
            out += format_parameters(params["properties"])
            out.append("},")
        if params.get("required"):
            out.append("required:")
            out += _quoted_list(params["required"])
            out.append(",")
        if params.get("type"):
            out += ["type:", Marker.QUOTE, _jinja_upper(params["type"]), Marker.QUOTE, "}"]
    out.append("}")
    return out


def format_call(name: str, arguments: Mapping[str, Any]) -> Segments:
    out: Segments = [Marker.CALL_OPEN, f"call:{name}{{"]
    for i, (key, value) in enumerate(_dictsort(arguments)):
        if i:
            out.append(",")
        out.append(f"{key}:")
        out += format_argument(value, escape_keys=False)
    out += ["}", Marker.CALL_CLOSE]
    return out


def format_response(name: str, response: Any) -> Segments:
    """One tool response block after its `<|tool_response>` opener."""
    out: Segments = []
    if isinstance(response, Mapping):
        out.append(f"response:{name}{{")
        for i, (key, value) in enumerate(_dictsort(response)):
            if i:
                out.append(",")
            out.append(f"{key}:")
            out += format_argument(value, escape_keys=False)
        out.append("}")
    else:
        out.append(f"response:{name}{{value:")
        out += format_argument(response, escape_keys=False)
        out.append("}")
    out.append(Marker.RESPONSE_CLOSE)
    return out


def strip_thinking(text: str) -> str:
    """The template's `strip_thinking`: drop `<|channel>…<channel|>` spans, trim."""
    result = []
    for part in text.split(Marker.CHANNEL_CLOSE.value):
        if Marker.CHANNEL_OPEN.value in part:
            result.append(part.split(Marker.CHANNEL_OPEN.value)[0])
        else:
            result.append(part)
    return "".join(result).strip()


def segments_text(segments: Sequence[str | Marker]) -> str:
    return "".join(s.value if isinstance(s, Marker) else s for s in segments)
