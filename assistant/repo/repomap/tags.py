"""Definitions and references of one source file, from its tag query.

`extract_tags(source, lang)` parses with the official grammar and runs this
package's `queries/<lang>-tags.scm`. Captures follow one convention in every query:
`@definition.<kind>` on a definition node with `@name` on its name, and
`@reference.<kind>` on an identifier that refers to something. A file with syntax
errors keeps the tags of the parts that parsed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tree_sitter import Node, Parser, QueryCursor, Tree

from assistant.repo.repomap.languages import get_language, get_query

MAX_SIGNATURE = 160
MAX_REF_NAMES = 4000  # distinct referenced names kept per file (bounded memory)
MAX_NAME = 120
# Kinds that only give context (e.g. a Rust `impl` block) and define nothing.
CONTEXT_KINDS = frozenset({"impl"})

_WS = re.compile(r"\s+")
_TRAILERS = ("=>", "{", ":", ";", "=", "->")


class Definition(NamedTuple):
    name: str
    kind: str  # class, function, method, interface, type, constant, …
    line: int  # 1-based first line of the definition
    end_line: int  # 1-based last line
    signature: str  # one line, body elided
    indent: int = 0  # column of the definition (nesting, for rendering)
    parent: int = -1  # index of the enclosing definition in the file's list

    def to_row(self) -> list[Any]:
        return list(self)

    @classmethod
    def from_row(cls, row: list[Any]) -> Definition:
        return cls._make(row)


@dataclass(slots=True)
class FileTags:
    defs: list[Definition] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)
    has_error: bool = False


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _find_body(node: Node, after: int) -> Node | None:
    """The node's `body` field, or that of a child up to two levels down
    (e.g. the arrow function of `const f = () => …`)."""
    frontier = [node]
    for _ in range(3):
        nxt: list[Node] = []
        for candidate in frontier:
            body = candidate.child_by_field_name("body")
            if body is not None and body.start_byte >= after:
                return body
            nxt.extend(candidate.named_children)
        frontier = nxt[:16]
    return None


def signature_of(source: bytes, node: Node, name_node: Node) -> str:
    body = _find_body(node, name_node.end_byte)
    if body is not None and body.start_byte > node.start_byte:
        raw = source[node.start_byte : body.start_byte]
    else:
        end = source.find(b"\n", name_node.end_byte)
        end = min(node.end_byte, end) if end >= 0 else node.end_byte
        raw = source[node.start_byte : max(end, name_node.end_byte)]
    text = _WS.sub(" ", raw.decode("utf-8", "replace")).strip()
    changed = True
    while changed and text:
        changed = False
        for trailer in _TRAILERS:
            if text.endswith(trailer) and not text.endswith("::"):
                text = text[: -len(trailer)].rstrip()
                changed = True
    if len(text) > MAX_SIGNATURE:
        text = text[: MAX_SIGNATURE - 1].rstrip() + "…"
    return text or _text(source, name_node)


_PARSERS: dict[str, Parser] = {}


def _parser(lang: str) -> Parser:
    parser = _PARSERS.get(lang)
    if parser is None:
        parser = _PARSERS[lang] = Parser(get_language(lang))
    return parser


def parse_tree(source: bytes, lang: str) -> Tree:
    """The tree of `source` with the language's (cached) parser."""
    return _parser(lang).parse(source)


def definition_nodes(root: Node, lang: str) -> list[tuple[int, Node, Node, str]]:
    """(pattern, definition node, name node, kind) of every definition the tag
    query finds under `root`, in source order: the same table the repo map
    uses, for the symbol index (`assistant.repo.symbols`)."""
    found, _refs = _match(root, lang)
    return sorted(found.values(), key=lambda v: v[1].start_byte)


def _match(root: Node, lang: str) -> tuple[dict[int, tuple[int, Node, Node, str]], list[Node]]:
    query = get_query(lang)
    found: dict[int, tuple[int, Node, Node, str]] = {}  # name start -> (pattern, node, name, kind)
    ref_nodes: list[Node] = []
    for pattern, captures in QueryCursor(query).matches(root):
        for capture, nodes in captures.items():
            if capture.startswith("definition."):
                names = captures.get("name")
                if not names:
                    continue
                name_node = names[0]
                key = name_node.start_byte
                previous = found.get(key)
                if previous is None or pattern < previous[0]:
                    found[key] = (pattern, nodes[0], name_node, capture[11:])
            elif capture.startswith("reference."):
                ref_nodes.extend(nodes)
    return found, ref_nodes


def extract_tags(source: bytes, lang: str) -> FileTags:
    """Tags of `source` (bytes of any encoding; names are decoded leniently)."""
    root = parse_tree(source, lang).root_node
    found, ref_nodes = _match(root, lang)
    refs: Counter[str] = Counter()
    for node in ref_nodes:
        if node.start_byte in found:
            continue
        name = source[node.start_byte : node.end_byte]
        if 0 < len(name) <= MAX_NAME:
            refs[name.decode("utf-8", "replace")] += 1
    defs = _definitions(source, sorted(found.values(), key=lambda v: v[1].start_byte))
    if len(refs) > MAX_REF_NAMES:
        refs = Counter(dict(sorted(refs.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_REF_NAMES]))
    return FileTags(defs, dict(refs), root.has_error)


def _definitions(source: bytes, items: list[tuple[int, Node, Node, str]]) -> list[Definition]:
    defs: list[Definition] = []
    stack: list[tuple[int, int]] = []  # (end_byte, index) of open definitions
    for _pattern, node, name_node, kind in items:
        name = _text(source, name_node)
        if not name or len(name) > MAX_NAME:
            continue
        while stack and stack[-1][0] <= node.start_byte:
            stack.pop()
        parent = stack[-1][1] if stack else -1
        defs.append(
            Definition(
                name=name,
                kind=kind,
                line=node.start_point[0] + 1,
                end_line=node.end_point[0] + 1,
                signature=signature_of(source, node, name_node),
                indent=node.start_point[1],
                parent=parent,
            )
        )
        stack.append((node.end_byte, len(defs) - 1))
    return defs
