"""Renaming in JavaScript/TypeScript, Go and Rust from the syntax tree alone.

The definition comes from the repo map's tag query (one of its `@definition`
names). Its uses are every identifier of that name, in the files of the same
language family, outside strings and comments, except inside a function that
declares a local or parameter of the same name (that function's own scope).
What this does not know, and so does not handle: which object a property or
field belongs to (`obj.NAME` is renamed whatever `obj` is; a field of another
type with the same name is renamed too), dynamic access (`obj["NAME"]`,
reflection), names built from strings, re-exports under another name, and
macros' own scoping. Use --dry-run and read the diff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tree_sitter import Node

from assistant.refactor.errors import RenameRefused
from assistant.refactor.python_rename import Occurrence
from assistant.refactor.sources import Sources
from assistant.refactor.target import Candidate, TargetSpec, check_new_name
from assistant.repo.languages import language_for
from assistant.repo.repomap.languages import get_parser
from assistant.repo.repomap.tags import CONTEXT_KINDS, extract_tags

if TYPE_CHECKING:
    from assistant.refactor.rename import RenamePlan

FAMILIES: dict[str, str] = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "javascript",
    "tsx": "javascript",
    "go": "go",
    "rust": "rust",
}
MEMBERS: dict[str, frozenset[str]] = {
    "javascript": frozenset({"javascript", "typescript", "tsx"}),
    "go": frozenset({"go"}),
    "rust": frozenset({"rust"}),
}


@dataclass(frozen=True)
class Grammar:
    names: frozenset[str]  # node types that hold a name
    functions: frozenset[str]  # node types that open a scope of their own
    locals: frozenset[str]  # declarations whose name is local to that scope
    reserved: frozenset[str]


_JS_RESERVED = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "implements",
        "interface",
        "package",
        "private",
        "protected",
        "public",
        "await",
    ]
)
GRAMMARS: dict[str, Grammar] = {
    "javascript": Grammar(
        frozenset(
            {
                "identifier",
                "property_identifier",
                "shorthand_property_identifier",
                "shorthand_property_identifier_pattern",
                "type_identifier",
            }
        ),
        frozenset(
            {
                "function_declaration",
                "function_expression",
                "function",
                "arrow_function",
                "method_definition",
                "generator_function_declaration",
            }
        ),
        frozenset({"variable_declarator", "required_parameter", "optional_parameter"}),
        _JS_RESERVED,
    ),
    "go": Grammar(
        frozenset({"identifier", "field_identifier", "type_identifier"}),
        frozenset({"function_declaration", "method_declaration", "func_literal"}),
        frozenset({"short_var_declaration", "var_spec", "parameter_declaration", "const_spec"}),
        frozenset(
            [
                "break",
                "case",
                "chan",
                "const",
                "continue",
                "default",
                "defer",
                "else",
                "fallthrough",
                "for",
                "func",
                "go",
                "goto",
                "if",
                "import",
                "interface",
                "map",
                "package",
                "range",
                "return",
                "select",
                "struct",
                "switch",
                "type",
                "var",
            ]
        ),
    ),
    "rust": Grammar(
        frozenset(
            {"identifier", "field_identifier", "type_identifier", "shorthand_field_identifier"}
        ),
        frozenset({"function_item", "closure_expression"}),
        frozenset({"let_declaration", "parameter", "closure_parameters"}),
        frozenset(
            [
                "as",
                "async",
                "await",
                "break",
                "const",
                "continue",
                "crate",
                "dyn",
                "else",
                "enum",
                "extern",
                "false",
                "fn",
                "for",
                "if",
                "impl",
                "in",
                "let",
                "loop",
                "match",
                "mod",
                "move",
                "mut",
                "pub",
                "ref",
                "return",
                "self",
                "Self",
                "static",
                "struct",
                "super",
                "trait",
                "true",
                "type",
                "unsafe",
                "use",
                "where",
                "while",
                "abstract",
                "become",
                "box",
                "do",
                "final",
                "macro",
                "override",
                "priv",
                "typeof",
                "unsized",
                "virtual",
                "yield",
                "try",
            ]
        ),
    ),
}
_SKIP = frozenset(
    {
        "comment",
        "line_comment",
        "block_comment",
        "string",
        "string_literal",
        "raw_string_literal",
        "interpreted_string_literal",
        "string_fragment",
        "regex",
    }
)


def family(lang: str) -> str:
    return FAMILIES.get(lang, lang)


def _definitions(sources: Sources, rel: str, name: str) -> list[Candidate]:
    data = sources.read(rel)
    lang = language_for(rel)
    if data is None or lang is None or name.encode("utf-8") not in data:
        return []
    tags = extract_tags(data, lang)
    out = []
    for d in tags.defs:
        if d.name == name and d.kind not in CONTEXT_KINDS:
            parent = tags.defs[d.parent].name + "." if d.parent >= 0 else ""
            out.append(Candidate(rel, d.line, parent + d.name, d.kind, (family(lang), name)))
    return out


def _in_scope(rel: str, narrow: list[str]) -> bool:
    return not narrow or any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in narrow)


def other_language_definition(
    sources: Sources, spec: TargetSpec, files: list[str], narrow: list[str]
) -> str | None:
    """The one non-Python language family that defines the bare name OLD."""
    found = set()
    for rel in files:
        lang = language_for(rel)
        if lang is None or family(lang) == "python" or not _in_scope(rel, narrow):
            continue
        if _definitions(sources, rel, spec.name):
            found.add(family(lang))
    if len(found) > 1:
        raise RenameRefused(
            f"{spec.name} is defined in {', '.join(sorted(found))} files; name one with "
            "FILE::name or a PATH"
        )
    return found.pop() if found else None


def _locals_of(fn: Node, name: bytes, grammar: Grammar) -> bool:
    """Whether the function declares `name` itself (a parameter or a local)."""
    stack = list(fn.named_children)
    while stack:
        node = stack.pop()
        if node.type in grammar.functions:
            continue  # a nested function's locals are its own
        if node.type in grammar.locals:
            target = (
                node.child_by_field_name("name")
                or node.child_by_field_name("pattern")
                or node.child_by_field_name("left")
            )
            search = [target] if target is not None else list(node.named_children)
            for part in search:
                sub = [part]
                while sub:
                    n = sub.pop()
                    if n.type == "identifier" and n.text == name:
                        return True
                    if n.type not in ("call_expression", "arrow_function", "function_expression"):
                        sub.extend(n.named_children)
        stack.extend(node.named_children)
    return False


def _occurrences(
    rel: str, data: bytes, lang: str, name: str, grammar: Grammar
) -> tuple[list[Occurrence], bool]:
    tree = get_parser(lang).parse(data)
    word = name.encode("utf-8")
    out: list[Occurrence] = []
    stack: list[tuple[Node, bool]] = [(tree.root_node, False)]
    while stack:
        node, shadowed = stack.pop()
        if node.type in _SKIP:
            continue
        if node.type in grammar.functions and _locals_of(node, word, grammar):
            shadowed = True
        if node.type in grammar.names and node.text == word:
            # a local of the same name hides the target from plain identifiers, not
            # from properties and fields (`obj.name`)
            if not (shadowed and node.type == "identifier"):
                out.append(Occurrence(rel, node.start_byte, node.end_byte, node.start_point[0] + 1))
            continue
        stack.extend((child, shadowed) for child in node.children)
    return out, tree.root_node.has_error


def plan_tagged(
    sources: Sources,
    spec: TargetSpec,
    new: str,
    files: list[str],
    narrow: list[str],
    language: str,
) -> RenamePlan:
    from assistant.refactor.rename import RenamePlan, changes_of

    fam = family(language)
    grammar = GRAMMARS.get(fam)
    if grammar is None:
        raise RenameRefused(f"rename does not handle {language} files")
    members = MEMBERS[fam]
    fam_files = [f for f in files if language_for(f) in members]
    if spec.line:
        raise RenameRefused(
            f"FILE:LINE targets are for Python only; in {fam} files name the definition "
            "(NAME or FILE::NAME)"
        )
    name = spec.name
    cands: list[Candidate] = []
    for rel in fam_files:
        if (spec.path and rel != spec.path) or not _in_scope(rel, narrow):
            continue
        cands.extend(
            c for c in _definitions(sources, rel, name) if not spec.qual or c.qual == spec.qualified
        )
    if not cands:
        raise RenameRefused(f"{spec.text} is not defined in the {fam} files of this repository")
    check_new_name(new, grammar.reserved)
    if new == name:
        raise RenameRefused(f"{name} is already called {new}; nothing to do")
    target = min(cands, key=lambda c: (c.rel, c.line))
    occurrences: list[Occurrence] = []
    notes: list[str] = []
    new_word = new.encode("utf-8")
    for rel in fam_files:
        data = sources.read(rel)
        if data is None or name.encode("utf-8") not in data:
            continue
        lang = language_for(rel)
        assert lang is not None
        found, broken = _occurrences(rel, data, lang, name, grammar)
        if not found:
            continue
        if broken:
            notes.append(f"skipped {rel}: it does not parse")
            continue
        if new_word in data:
            clash, _ = _occurrences(rel, data, lang, new, grammar)
            if clash:
                raise RenameRefused(
                    f"{new} already exists at {rel}:{clash[0].line}; without scope analysis "
                    f"for {fam} files the rename would merge the two; nothing was changed"
                )
        occurrences.extend(found)
    notes = sources.notes(name) + notes
    notes.append(
        f"{fam}: renamed every identifier {name} outside strings and comments (no type "
        "analysis: properties of other objects with this name are renamed too)"
    )
    return RenamePlan(name, new, fam, target, changes_of(sources, new, occurrences), notes)


__all__ = ["FAMILIES", "GRAMMARS", "family", "other_language_definition", "plan_tagged"]
