"""GBNF from tool JSON schemas, shared by the Gemma 4 and the JSON call syntax.

A `Syntax` says how strings, keys, objects and arrays are spelled; `GrammarBuilder`
walks the schemas and writes one rule per schema node. Keys come in sorted order
(the order the templates render arguments in) unless `keep_order` asks for the
schema's own order; required keys are mandatory, optional ones may be left
out, and only declared keys are allowed. `space` is an expression allowed
around JSON punctuation (e.g. one optional space), for answers a model writes
the way a prompt's example spells them.

Besides the structure, these bounds come from the schema: enum and const,
minItems/maxItems, minLength/maxLength (for syntaxes that count characters),
and minimum/maximum of integers (maximum as a digit count, exact when it is
10**k - 1)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from assistant.protocols.base import GrammarOptions, ToolChoice, ToolChoiceMode
from assistant.toolspec import EXISTING_PATH_KEY, ToolSpec


def tools_for_choice(
    tools: Sequence[ToolSpec], tool_choice: ToolChoice | str
) -> tuple[ToolChoice, list[ToolSpec]] | None:
    """The parsed choice and the tools a grammar may allow; None when nothing
    is to be constrained. A named tool that is not declared is a caller bug."""
    choice = ToolChoice.parse(tool_choice)
    if choice.mode is ToolChoiceMode.NONE or not tools:
        return None
    if choice.mode is ToolChoiceMode.NAMED:
        named = [t for t in tools if t.name == choice.name]
        if not named:
            raise ValueError(f"tool_choice names {choice.name!r}, which is not declared")
        return choice, named
    return choice, list(tools)


def gbnf_literal(text: str) -> str:
    """A GBNF double-quoted literal for `text`."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def repeat(expr: str, low: int, high: int | None) -> str:
    if high is None:
        return f"{expr}*" if low == 0 else (f"{expr}+" if low == 1 else f"{expr}{{{low},}}")
    return f"{expr}{{{low},{high}}}"


class Syntax(Protocol):
    def string(
        self, max_tokens: int | None, min_chars: int = 0, max_chars: int | None = None
    ) -> str:
        """An expression for any string value (`min_chars`/`max_chars`: the
        schema's minLength/maxLength, where the syntax can count characters)."""
        ...

    def string_of(self, literals: Sequence[str]) -> str:
        """An expression for one of these exact strings."""
        ...

    def key(self, name: str) -> str:
        """The expression for `name` followed by the key/value separator."""
        ...

    def generic_value(self) -> str:
        """An expression for any value (the rules are written by `rules()`)."""
        ...

    def rules(self) -> dict[str, str]:
        """Helper rules the syntax's expressions refer to."""
        ...


def _trie_expr(words: Sequence[str]) -> str:
    """One-of-these-strings as a prefix tree, so the sampler keeps one grammar
    stack per prefix instead of one per word (thousands of paths)."""
    words = sorted(set(words))
    if not words:
        return '""'

    def build(group: list[str]) -> str:
        alts: list[str] = []
        nullable = False
        by_first: dict[str, list[str]] = {}
        for word in group:
            if not word:
                nullable = True
            else:
                by_first.setdefault(word[0], []).append(word)
        for members in by_first.values():
            prefix = members[0]
            for word in members[1:]:
                while not word.startswith(prefix):
                    prefix = prefix[:-1]
            rests = [w[len(prefix) :] for w in members]
            if len(rests) == 1:
                alts.append(gbnf_literal(prefix))
            else:
                alts.append(f"{gbnf_literal(prefix)} {build(rests)}")
        body = " | ".join(alts)
        if nullable:
            return f"({body})?"
        return f"({body})" if len(alts) > 1 else body

    return build(list(words))


class GrammarBuilder:
    def __init__(
        self,
        syntax: Syntax,
        options: GrammarOptions,
        existing_paths: Collection[str] | None = None,
        *,
        keep_order: bool = False,
        space: str | None = None,
    ) -> None:
        self.syntax = syntax
        self.options = options
        self.existing_paths = sorted(existing_paths) if existing_paths is not None else None
        self.keep_order = keep_order
        self.rules: dict[str, str] = {}
        self._names: set[str] = {"root", *syntax.rules()}
        self._ws = ""
        if space is not None:
            self._ws = self.add("ws", space)

    def _comma(self) -> str:
        return f'{self._ws} "," {self._ws}' if self._ws else '","'

    def _spaced(self, *parts: str) -> str:
        """`parts` in sequence, with the optional space between them."""
        sep = f" {self._ws} " if self._ws else " "
        return sep.join(p for p in parts if p)

    def _name(self, hint: str) -> str:
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", hint).strip("-").lower() or "r"
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}-{n}"
        self._names.add(name)
        return name

    def add(self, hint: str, body: str) -> str:
        name = self._name(hint)
        self.rules[name] = body
        return name

    def arguments(self, tool: ToolSpec) -> str:
        """A rule name for the argument object of `tool`."""
        schema = tool.parameters or {"type": "object", "properties": {}}
        return self.value(schema, f"{tool.name}-args", force_object=True)

    def value(self, schema: Any, hint: str, force_object: bool = False) -> str:
        if not isinstance(schema, dict):
            return self.syntax.generic_value()
        options = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(options, list) and options:
            alts = [self.value(o, f"{hint}-{i}") for i, o in enumerate(options)]
            return self.add(hint, " | ".join(alts))
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            if all(isinstance(v, str) for v in enum):
                return self.add(hint, self.syntax.string_of(enum))
            return self.add(hint, " | ".join(self._const(v) for v in enum))
        if "const" in schema:
            return self.add(hint, self._const(schema["const"]))
        types = schema.get("type")
        if force_object:
            types = "object"
        if types is None and "properties" in schema:
            types = "object"
        if isinstance(types, str):
            types = [types]
        if not isinstance(types, list) or not types:
            return self.syntax.generic_value()
        alts = [self._typed(str(t), schema, hint) for t in types]
        if len(alts) == 1:
            return alts[0]
        return self.add(hint, " | ".join(alts))

    def _const(self, value: Any) -> str:
        if isinstance(value, str):
            return self.syntax.string_of([value])
        if isinstance(value, bool):
            return gbnf_literal("true" if value else "false")
        if value is None:
            return gbnf_literal("null")
        if isinstance(value, int | float):
            return gbnf_literal(repr(value))
        return self.syntax.generic_value()

    def _typed(self, kind: str, schema: dict[str, Any], hint: str) -> str:
        digits = self.options.max_number_digits
        if kind == "string":
            if schema.get(EXISTING_PATH_KEY) and self.existing_paths is not None:
                return self.add(f"{hint}-path", self.syntax.string_of(self.existing_paths))
            low, high = schema.get("minLength"), schema.get("maxLength")
            text = self.syntax.string(
                self.options.max_string_tokens,
                low if isinstance(low, int) else 0,
                high if isinstance(high, int) else None,
            )
            return self.add(hint, text)
        if kind == "integer":
            return self.add(hint, self._integer(schema))
        if kind == "number":
            int_part = f'"-"? ("0" | [1-9] {repeat("[0-9]", 0, digits - 1)})'
            frac = f'("." {repeat("[0-9]", 1, digits)})?'
            exp = "([eE] [-+]? [0-9]{1,2})?"  # 1e999 would be inf
            return self.add(hint, f"{int_part} {frac} {exp}")
        if kind == "boolean":
            return self.add(hint, '"true" | "false"')
        if kind == "null":
            return self.add(hint, '"null"')
        if kind == "array":
            return self._array(schema, hint)
        if kind == "object":
            return self._object(schema, hint)
        return self.syntax.generic_value()

    def _integer(self, schema: dict[str, Any]) -> str:
        digits = self.options.max_number_digits
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(high, int) and high >= 0:
            digits = min(digits, len(str(high)))
        tail = repeat("[0-9]", 0, digits - 1)
        if isinstance(low, int) and low >= 1:
            return f"[1-9] {tail}"
        if isinstance(low, int) and low >= 0:
            return f'"0" | [1-9] {tail}'
        return f'"-"? ("0" | [1-9] {tail})'

    def _array(self, schema: dict[str, Any], hint: str) -> str:
        item = self.value(schema.get("items"), f"{hint}-item")
        min_items, max_items = schema.get("minItems"), schema.get("maxItems")
        low: int = min_items if isinstance(min_items, int) else 0
        high: int | None = max_items if isinstance(max_items, int) else None
        cap = self.options.max_array_items
        if cap is not None:
            high = cap if high is None else min(high, cap)
            low = min(low, high)
        if high == 0:
            return self.add(hint, self._spaced('"["', '"]"'))
        more = repeat(
            f"({self._comma()} {item})", max(low - 1, 0), None if high is None else high - 1
        )
        items = f"{item} {more}"
        if low == 0:
            items = f"({items})?"
        return self.add(hint, self._spaced('"["', items, '"]"'))

    def _object(self, schema: dict[str, Any], hint: str) -> str:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        assert isinstance(props, dict)
        required = set(schema.get("required") or [])
        keys = list(props) if self.keep_order else sorted(props)
        if not keys:
            return self.add(hint, self._spaced('"{"', '"}"'))
        kvs = [self._spaced(self.syntax.key(k), self.value(props[k], f"{hint}-{k}")) for k in keys]
        comma = self._comma()
        # rest[i]: members i.. after at least one was written (each with a comma);
        # first[i]: members i.. where none was written yet. Linear, not 2^n.
        rest: list[str | None] = [None] * (len(keys) + 1)
        first: list[str | None] = [None] * (len(keys) + 1)
        for i in range(len(keys) - 1, -1, -1):
            tail = f" {rest[i + 1]}" if rest[i + 1] else ""
            if keys[i] in required:
                rest[i] = self.add(f"{hint}-rest", f"{comma} {kvs[i]}{tail}")
                first[i] = self.add(f"{hint}-first", f"{kvs[i]}{tail}")
            else:
                rest[i] = self.add(f"{hint}-rest", f"({comma} {kvs[i]})?{tail}")
                skip = first[i + 1]
                body = f"{kvs[i]}{tail}" + (f" | {skip}" if skip else "")
                first[i] = self.add(f"{hint}-first", f"({body})" if skip else f"({body})?")
        return self.add(hint, self._spaced('"{"', str(first[0]), '"}"'))

    def render(self, root: str) -> str:
        lines = [f"root ::= {root}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        lines += [f"{name} ::= {body}" for name, body in self.syntax.rules().items()]
        return "\n".join(lines) + "\n"
