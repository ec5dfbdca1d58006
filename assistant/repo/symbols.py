"""The symbol index of one file: its definitions by qualified name, with exact
spans, for the symbol tools (outline, read_symbol, replace_symbol,
insert_symbol, find_references).

It is the repo map's own parse: the same cached tree-sitter parsers and the
same tag queries (`repomap.tags.definition_nodes`), so what the map shows and
what the tools can address are one table. On top of the tags it adds what an
edit needs: the qualified name (`Cart.total`, `outer.inner`; a Rust `impl`
block and a Go method's receiver name the type), the span including Python
decorators and Rust attributes, and offsets into the decoded text.

References are name-based, not scope-resolved: every identifier node whose
text is the name (so strings and comments, which hold no identifier nodes,
are left out)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from assistant.repo.languages import language_for

# Kinds that only qualify the definitions inside them (a Rust `impl Cart`).
CONTEXT_KINDS = frozenset({"impl"})
# Kinds one may replace by another: a method is a function inside a class.
_FAMILIES = {"method": "function", "constructor": "function"}
# Leading nodes that belong to the definition after them.
_ATTACHED_BEFORE = frozenset({"attribute_item"})  # Rust #[derive(...)], #[test]


def kind_family(kind: str) -> str:
    return _FAMILIES.get(kind, kind)


@dataclass(frozen=True)
class Symbol:
    name: str
    qualname: str
    kind: str  # function, method, class, constant, … (the tag query's kinds)
    line: int  # 1-based first line, decorators included
    end_line: int  # 1-based last line
    signature: str  # one line, body elided
    start: int  # offset in the text of the first character (decorators included)
    end: int  # offset just past the last character
    line_start: int  # offset of the start of the first line
    depth: int  # nesting: 0 for top level
    name_byte: int  # byte offset of the name in the UTF-8 text (to tell a definition's name)

    def describe(self) -> str:
        return f"{self.kind} {self.qualname} (lines {self.line}-{self.end_line})"


class SymbolLookupError(LookupError):
    """A name that names no definition, or several."""


class _Offsets:
    """Byte offsets of the UTF-8 encoding → offsets in the text (str)."""

    def __init__(self, text: str, data: bytes) -> None:
        self.ascii = len(text) == len(data)
        self.text = text
        self.data = data
        self.line_bytes: list[int] = [0]
        self.line_chars: list[int] = [0]
        if not self.ascii:
            pos = 0
            for line in text.splitlines(keepends=True):
                pos += len(line)
                self.line_chars.append(pos)
                self.line_bytes.append(self.line_bytes[-1] + len(line.encode("utf-8")))

    def char(self, byte: int) -> int:
        if self.ascii:
            return byte
        k = bisect.bisect_right(self.line_bytes, byte) - 1
        base_b, base_c = self.line_bytes[k], self.line_chars[k]
        return base_c + len(self.data[base_b:byte].decode("utf-8", "replace"))

    def byte(self, char: int) -> int:
        if self.ascii:
            return char
        return len(self.text[:char].encode("utf-8"))


# Wrappers that belong to the one definition they hold: Python decorators, a Go
# `type`/`const`/`var` keyword around a single spec.
_WRAPPERS = frozenset(
    {"decorated_definition", "type_declaration", "const_declaration", "var_declaration"}
)


def _decorated(node: Node) -> Node:
    parent = node.parent
    if (
        parent is not None
        and parent.type in _WRAPPERS
        and parent.named_child_count
        == 1 + sum(1 for c in parent.named_children if c.type == "decorator")
    ):
        return parent
    return node


def _first_attached(node: Node) -> Node:
    first = node
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in _ATTACHED_BEFORE:
        first = sibling
        sibling = sibling.prev_named_sibling
    return first


def _type_name(text: str) -> str:
    """`Cart<T>` → `Cart`, `*Cart` → `Cart`, `&'a mut Cart` → `Cart`."""
    text = text.split("<", 1)[0].split("[", 1)[0]
    for prefix in ("&", "*", "mut ", "'"):
        text = text.replace(prefix, " ")
    parts = text.split()
    return parts[-1] if parts else text


def _go_receiver(node: Node, data: bytes) -> str | None:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    stack = [receiver]
    while stack:
        n = stack.pop()
        if n.type == "type_identifier":
            return data[n.start_byte : n.end_byte].decode("utf-8", "replace")
        stack.extend(reversed(n.named_children))
    return None


class SymbolIndex:
    """The definitions of one text in one language."""

    def __init__(self, text: str, lang: str) -> None:
        from assistant.repo.repomap.tags import definition_nodes, parse_tree, signature_of

        self.text = text
        self.lang = lang
        self.data = text.encode("utf-8", "surrogatepass")
        self.offsets = _Offsets(text, self.data)
        tree = parse_tree(self.data, lang)
        self.root = tree.root_node
        self.has_error = self.root.has_error
        items = definition_nodes(self.root, lang)
        symbols: list[Symbol] = []
        # open containers: (end_byte, the qualified name they give what they hold, depth)
        stack: list[tuple[int, str, int]] = []
        for _pattern, node, name_node, kind in items:
            name = self.data[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace")
            if not name:
                continue
            wrapper = _decorated(node)
            outer = _first_attached(wrapper)
            while stack and stack[-1][0] <= outer.start_byte:
                stack.pop()
            prefix = stack[-1][1] if stack else ""
            depth = stack[-1][2] + 1 if stack else 0
            if kind in CONTEXT_KINDS:
                qual = _type_name(name)
                stack.append((node.end_byte, qual, depth - 1))
                continue
            if lang == "go" and node.type == "method_declaration":
                receiver = _go_receiver(node, self.data)
                if receiver:
                    prefix = receiver
            qualname = f"{prefix}.{name}" if prefix else name
            start = self.offsets.char(outer.start_byte)
            line_start = self.text.rfind("\n", 0, start) + 1
            symbols.append(
                Symbol(
                    name=name,
                    qualname=qualname,
                    kind=kind,
                    line=outer.start_point[0] + 1,
                    end_line=node.end_point[0] + 1,
                    signature=signature_of(self.data, node, name_node),
                    start=start,
                    end=self.offsets.char(max(node.end_byte, wrapper.end_byte)),
                    line_start=line_start,
                    depth=depth,
                    name_byte=name_node.start_byte,
                )
            )
            stack.append((node.end_byte, qualname, depth))
        self.symbols = symbols

    def indent_of(self, symbol: Symbol) -> str:
        return self.text[symbol.line_start : symbol.start]

    def lookup(self, name: str) -> list[Symbol]:
        """Definitions `name` may mean: `Cart.total`, `total`, or either with
        `:LINE` to pick one of several. An exact qualified name wins over
        suffix matches (`total` is the top-level `total` if there is one)."""
        name = name.strip()
        line: int | None = None
        head, sep, tail = name.rpartition(":")
        if sep and tail.strip().isdigit() and head:
            name, line = head.strip(), int(tail)
        exact = [s for s in self.symbols if s.qualname == name]
        found = exact or [
            s for s in self.symbols if s.qualname.endswith("." + name) or s.name == name
        ]
        if line is not None:
            found = [s for s in found if s.line <= line <= s.end_line]
            if len(found) > 1:  # the innermost one holding that line
                found = [max(found, key=lambda s: s.depth)]
        return found

    def contents(self, lo: int, hi: int) -> tuple[list[Symbol], list[str]]:
        """The outermost definitions inside [lo, hi) (offsets in the text), and
        the other statements there that are not comments (their first words)."""
        inside = [s for s in self.symbols if s.start >= lo and s.end <= hi]
        top = [
            s
            for s in inside
            if not any(o is not s and o.start <= s.start and s.end <= o.end for o in inside)
        ]
        blo, bhi = self.offsets.byte(lo), self.offsets.byte(hi)
        covered = [(self.offsets.byte(s.start), self.offsets.byte(s.end)) for s in top]
        extra: list[str] = []
        for node in _nodes_in(self.root, blo, bhi):
            if any(a <= node.start_byte and node.end_byte <= b for a, b in covered):
                continue
            if any(node.start_byte <= a and b <= node.end_byte for a, b in covered):
                continue  # a wrapper of a definition (a decorated_definition, an export)
            if "comment" in node.type or not node.is_named:
                continue
            snippet = self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")
            extra.append(" ".join(snippet.split())[:40])
        return top, extra


def _nodes_in(root: Node, lo: int, hi: int) -> Iterator[Node]:
    """The outermost nodes that lie entirely within [lo, hi)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.end_byte <= lo or node.start_byte >= hi:
            continue
        if lo <= node.start_byte and node.end_byte <= hi and node is not root:
            yield node
            continue
        stack.extend(reversed(node.children))


def index_text(text: str, path: str) -> SymbolIndex | None:
    """The index of a file's text, or None when no grammar reads `path`."""
    lang = language_for(path)
    if lang is None:
        return None
    return SymbolIndex(text, lang)


# ---------------------------------------------------------------- references


@dataclass(frozen=True)
class Reference:
    line: int  # 1-based
    column: int  # 1-based, in characters
    text: str  # the whole line
    definition: Symbol | None  # set when this identifier is a definition's name


def references(text: str, lang: str, name: str) -> list[Reference]:
    """Identifier nodes whose text is `name`, in order; strings and comments
    hold none. Name-based: scopes are not resolved."""
    if not name or name not in text:
        return []
    index = SymbolIndex(text, lang)
    data = index.data
    needle = name.encode("utf-8")
    named = {s.name_byte: s for s in index.symbols}
    lines = data.split(b"\n")
    out: list[Reference] = []
    pos = data.find(needle)
    while pos >= 0:
        end = pos + len(needle)
        node = index.root.descendant_for_byte_range(pos, end)
        if (
            node is not None
            and node.start_byte == pos
            and node.end_byte == end
            and node.child_count == 0
            and (node.type.endswith("identifier") or node.type == "constant")
        ):
            row, col = node.start_point
            line_bytes = lines[row] if row < len(lines) else b""
            out.append(
                Reference(
                    row + 1,
                    len(line_bytes[:col].decode("utf-8", "replace")) + 1,
                    line_bytes.decode("utf-8", "replace").rstrip("\r"),
                    named.get(pos),
                )
            )
        pos = data.find(needle, end)
    return out
