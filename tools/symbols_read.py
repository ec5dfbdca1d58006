"""outline, read_symbol, find_references: a file's definitions, one
definition's source, and where a name is used, from the repo map's
tree-sitter parse (`assistant.repo.symbols`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from assistant.tools.context import LoadedText, ToolContext
from assistant.tools.read_file import MAX_LINES, number_lines, split_lines
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.sandbox import decode_text
from assistant.tools.schema import ExistingPath

from assistant.fsutil import looks_binary
from assistant.repo.languages import language_for
from assistant.repo.symbols import Symbol, SymbolIndex, references

MAX_OUTLINE = 300  # definitions listed by outline
MAX_REFERENCES = 100
MAX_CANDIDATES = 12
LINE_CHARS = 200
SCAN_SECONDS = 10.0  # a repository-wide scan, all files together
MAX_NAME = 200


@dataclass(frozen=True)
class Found:
    """One definition in one file, with the file it came from."""

    rel: str
    loaded: LoadedText
    index: SymbolIndex
    symbol: Symbol


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ToolError("name is empty; give a function, class or method name, e.g. Cart.total")
    if len(name) > MAX_NAME or "\n" in name:
        raise ToolError("name is too long; give one qualified name, e.g. Cart.total")
    return name


def index_of(ctx: ToolContext, path: str) -> tuple[LoadedText, SymbolIndex]:
    loaded = ctx.load_existing(path)
    rel = loaded.resolved.rel
    lang = language_for(rel)
    if lang is None:
        raise ToolError(
            f"{rel}: no parser for this kind of file, so it has no symbols; use read_file "
            "and edit_file",
            rel,
        )
    return loaded, SymbolIndex(loaded.text, lang)


def candidates_text(found: list[tuple[str, Symbol]]) -> str:
    rows: list[str] = []
    for rel, symbol in found[:MAX_CANDIDATES]:
        rows.append(f"{rel}:{symbol.line}: {symbol.kind} {symbol.qualname}")
    more = len(found) - MAX_CANDIDATES
    if more > 0:
        rows.append(f"… and {more} more")
    return "\n".join(rows)


def _ambiguous(name: str, found: list[tuple[str, Symbol]]) -> ToolError:
    rel, symbol = found[0]
    return ToolError(
        f"{name!r} is ambiguous: it names {len(found)} definitions:\n{candidates_text(found)}\n"
        f"Call again with a qualified name (e.g. {symbol.qualname}), with the path, or "
        f"with :LINE after the name (e.g. {symbol.qualname}:{symbol.line}).",
        rel,
    )


def find_in_file(ctx: ToolContext, name: str, path: str) -> Found:
    """The one definition `name` names in `path`, or a refusal naming the candidates."""
    loaded, index = index_of(ctx, path)
    rel = loaded.resolved.rel
    found = [Found(rel, loaded, index, s) for s in index.lookup(name)]
    if not found:
        listing = candidates_text([(rel, s) for s in index.symbols])
        hint = f" Its definitions:\n{listing}" if listing else " It has no definitions."
        raise ToolError(f"no definition named {name!r} in {rel}.{hint}", rel)
    if len(found) > 1:
        raise _ambiguous(name, [(f.rel, f.symbol) for f in found])
    return found[0]


def _simple(name: str) -> str:
    base = name.rpartition(":")[0] if name.rpartition(":")[2].strip().isdigit() else name
    return base.strip().rsplit(".", 1)[-1]


def _scan(ctx: ToolContext, needle: str, under: str | None) -> tuple[list[tuple[str, str]], bool]:
    """(rel, text) of the repository's parsable files that contain `needle`
    (under a folder or file when given); True when the time limit cut the scan."""
    files = ctx.repo_files()
    if under:
        prefix = under.strip().strip("/")
        files = [f for f in files if f == prefix or f.startswith(prefix + "/")]
    out: list[tuple[str, str]] = []
    deadline = time.monotonic() + SCAN_SECONDS
    raw = needle.encode("utf-8")
    for rel in files:
        if language_for(rel) is None:
            continue
        if time.monotonic() > deadline:
            return out, True
        try:
            resolved = ctx.sandbox.resolve(rel)
            data = ctx.current_bytes(resolved)
        except ToolError:
            continue  # refused (secret, outside the repo, too large) or gone
        if data is None or raw not in data or looks_binary(data):
            continue
        try:
            text = decode_text(data, rel)[0]
        except ToolError:
            continue
        out.append((rel, text))
    return out, False


def find_definitions(ctx: ToolContext, name: str) -> list[tuple[str, Symbol]]:
    """Every definition `name` may mean, across the repository: only files that
    hold every part of a qualified name are parsed (a method's file names its class)."""
    base = name.rpartition(":")[0] if name.rpartition(":")[2].strip().isdigit() else name
    parts = [p for p in base.strip().split(".") if p]
    found: list[tuple[str, Symbol]] = []
    files, _cut = _scan(ctx, _simple(name), None)
    for rel, text in files:
        lang = language_for(rel)
        if lang is None or not all(p in text for p in parts):
            continue
        found.extend((rel, s) for s in SymbolIndex(text, lang).lookup(name))
    exact = [(rel, s) for rel, s in found if s.qualname == base.strip()]
    return exact or found


def outline(ctx: ToolContext, path: Annotated[str, ExistingPath]) -> ToolResult:
    """List a file's definitions: line range, kind, qualified name (e.g. Cart.total)
    and signature, without bodies.

    Args:
        path: file path relative to the repository root
    """
    loaded, index = index_of(ctx, path)
    rel = loaded.resolved.rel
    symbols = index.symbols
    total_lines = len(split_lines(loaded.text))
    noun = "definition" if len(symbols) == 1 else "definitions"
    header = f"{rel} ({index.lang}, {total_lines} lines, {len(symbols)} {noun})"
    if index.has_error:
        header += "; the file has syntax errors, so this outline may be incomplete"
    if not symbols:
        return ToolResult(True, header + ": no definitions found", path=rel)
    width = len(str(max(s.end_line for s in symbols)))
    rows = [header + ":"]
    for symbol in symbols[:MAX_OUTLINE]:
        lines = f"{symbol.line:>{width}}-{symbol.end_line:<{width}}"
        signature = symbol.signature
        if len(signature) > LINE_CHARS:
            signature = signature[:LINE_CHARS] + " …"
        rows.append(f"{lines} {'  ' * symbol.depth}{symbol.kind} {symbol.qualname}: {signature}")
    if len(symbols) > MAX_OUTLINE:
        rows.append(f"[cut: showed {MAX_OUTLINE} of {len(symbols)} definitions]")
    return ToolResult(True, "\n".join(rows), path=rel)


def read_symbol(ctx: ToolContext, name: str, path: str | None = None) -> ToolResult:
    """Read one function, method or class by name, as numbered lines.

    Args:
        name: name or qualified name, e.g. Cart.total
        path: its file; default: search the repository
    """
    name = check_name(name)
    if path:
        found = find_in_file(ctx, name, path)
    else:
        matches = find_definitions(ctx, name)
        if not matches:
            raise ToolError(
                f"no definition named {name!r} in the repository; check the spelling, or "
                "use search or outline to find it"
            )
        if len(matches) > 1:
            raise _ambiguous(name, matches)
        rel, symbol = matches[0]
        found = find_in_file(ctx, f"{symbol.qualname}:{symbol.line}", rel)
    symbol, rel = found.symbol, found.rel
    ctx.mark_read(rel, found.loaded.data)
    lines = split_lines(found.loaded.text)
    last = min(symbol.end_line, symbol.line + MAX_LINES - 1)
    rows = number_lines(lines[symbol.line - 1 : last], symbol.line, len(str(last)))
    header = f"{rel}: {symbol.describe()}"
    body = "\n".join([header, *rows])
    if last < symbol.end_line:
        body += (
            f"\n[cut: showed lines {symbol.line}-{last} of {symbol.line}-{symbol.end_line}; "
            f"call read_file with start_line={last + 1} for the rest]"
        )
    return ToolResult(True, body, path=rel)


def find_references(ctx: ToolContext, name: str, path: str | None = None) -> ToolResult:
    """List where a name is defined and used in code (not in strings or comments),
    as `path:line: text`.

    Args:
        name: the name, e.g. total
        path: only this file or folder; default: the whole repository
    """
    name = check_name(name)
    simple = _simple(name)
    if path:
        resolved = ctx.sandbox.resolve(path)
        under: str | None = resolved.rel
    else:
        under = None
    files, cut_time = _scan(ctx, simple, under)
    rows: list[str] = []
    definitions = 0
    cut = False
    for rel, text in files:
        lang = language_for(rel)
        assert lang is not None
        for ref in references(text, lang, simple):
            if len(rows) >= MAX_REFERENCES:
                cut = True
                break
            line = ref.text.strip()
            if len(line) > LINE_CHARS:
                line = line[:LINE_CHARS] + " …"
            mark = ""
            if ref.definition is not None:
                definitions += 1
                mark = f"  [definition: {ref.definition.kind} {ref.definition.qualname}]"
            rows.append(f"{rel}:{ref.line}: {line}{mark}")
        if cut:
            break
    where = f" under {under}" if under else ""
    if not rows:
        note = " (the scan stopped at its time limit)" if cut_time else ""
        return ToolResult(True, f"no references to {simple!r}{where} in code{note}")
    uses = len(rows) - definitions
    header = (
        f"{len(rows)} references to {simple!r}{where} ({definitions} definition"
        f"{'s' if definitions != 1 else ''}, {uses} use{'s' if uses != 1 else ''}):"
    )
    body = [header, *rows]
    if cut:
        body.append(f"[cut at {MAX_REFERENCES} references; give a path to narrow the search]")
    if cut_time:
        body.append(f"[scan stopped after {SCAN_SECONDS:g} s; give a path to narrow it]")
    return ToolResult(True, "\n".join(body))
