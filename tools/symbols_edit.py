"""replace_symbol, insert_symbol: change a definition by name, so the model
sends the new code only, never a copy of the old text.

Both check, before anything is written, that the new source parses, in place,
as exactly one definition (replace: of the same kind) and nothing else; the
indentation is fitted to the place whether the model sent it dedented or
already indented. The change then goes through the same approval, journal,
atomic write and `undo` as edit_file (`ToolContext.commit_change`)."""

from __future__ import annotations

import ast
import textwrap
from typing import Annotated, Literal

from assistant.tools.context import ToolContext
from assistant.tools.edit_file import _check_text
from assistant.tools.read_file import number_lines, split_lines
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.sandbox import encode_text, normalize_input
from assistant.tools.schema import ExistingPath
from assistant.tools.symbols_read import check_name, find_in_file

from assistant.repo.symbols import Symbol, SymbolIndex, kind_family
from assistant.repo.syntax import check_syntax

SNIPPET_LINES = 40


def _clean(source: str) -> str:
    """Without blank lines around it and trailing spaces at its end."""
    lines = source.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines).rstrip()


def _indent(source: str, indent: str) -> str:
    return "\n".join(indent + line if line.strip() else "" for line in source.split("\n"))


def _shapes(source: str, indent: str, original_indent: str) -> list[str]:
    """The new source laid out at `indent`, in the ways a model may have sent it,
    likeliest first: dedented or indented as a whole, or with its first line
    dedented and the others still at the file's own indentation (a copy of read
    output that lost the first line's indent)."""
    whole = _indent(textwrap.dedent(source), indent)
    first, sep, rest = source.partition("\n")
    rest_lines = [line for line in rest.split("\n") if line.strip()]
    if sep and original_indent and rest_lines and first == first.lstrip():
        least = min(len(line) - len(line.lstrip()) for line in rest_lines)
        if all(line.startswith(original_indent) for line in rest_lines):
            stripped = "\n".join(
                line[len(original_indent) :] if line.strip() else "" for line in rest.split("\n")
            )
            shifted = _indent(first + "\n" + stripped, indent)
            # Deeper than the definition's own indent: the slip is the likelier reading.
            if least > len(original_indent):
                return [shifted, whole]
            return [whole, shifted]
    return [whole]


def _validate(
    rel: str, lang: str, old_text: str, updated: str, lo: int, hi: int, want: str | None
) -> tuple[str | None, Symbol | None]:
    """(error, the new definition): the text in [lo, hi) of `updated` must be one
    definition (of family `want` when given) and nothing else, and parse."""
    report = check_syntax(rel, old_text, updated)
    if report.checked and not report.ok:
        issues = "; ".join(issue.describe() for issue in report.new_issues[:3])
        return f"the new source does not parse in place ({issues})\n{report.context}", None
    index = SymbolIndex(updated, lang)
    top, extra = index.contents(lo, hi)
    if not top:
        return (
            "the new source holds no definition (send the whole def/class, header included)",
            None,
        )
    if len(top) > 1:
        names = ", ".join(s.qualname for s in top)
        return (
            f"the new source holds {len(top)} definitions ({names}); send exactly one "
            "(add the others with insert_symbol)",
            None,
        )
    if extra:
        shown = "; ".join(f"`{e}`" for e in extra[:3])
        return (
            f"the new source holds code besides the definition ({shown}); send only the "
            "definition (use edit_file for other code)",
            None,
        )
    new = top[0]
    if want is not None and kind_family(new.kind) != kind_family(want):
        return f"the new source is a {new.kind}, but it replaces a {want}; send a {want}", None
    return None, new


def _snippet(updated: str, first: int, last: int) -> str:
    lines = split_lines(updated)
    lo, hi = max(1, first), min(len(lines), last, first + SNIPPET_LINES - 1)
    rows = number_lines(lines[lo - 1 : hi], lo)
    cut = f"\n[… {last - hi} more lines]" if hi < last else ""
    return f"\nlines {lo}-{hi} now:\n" + "\n".join(rows) + cut


def _python_ok(text: str) -> bool:
    """Whether CPython itself accepts this definition (tree-sitter forgives an
    indented `def` under its decorator; the interpreter does not)."""
    try:
        ast.parse(textwrap.dedent(text))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _apply(
    tool: str,
    rel: str,
    old_text: str,
    attempts: list[tuple[str, int, int]],
    want: str | None,
    lang: str,
) -> tuple[str, Symbol]:
    """The first layout of the change that validates: (updated text, new definition).
    For Python, one that CPython also accepts comes first."""
    first_error = ""
    valid: list[tuple[str, Symbol, bool]] = []
    for updated, lo, hi in attempts:
        error, new = _validate(rel, lang, old_text, updated, lo, hi, want)
        if error is None and new is not None:
            exact = lang != "python" or _python_ok(updated[lo:hi])
            if exact:
                return updated, new
            valid.append((updated, new, exact))
        first_error = first_error or (error or "")
    if valid:
        return valid[0][0], valid[0][1]
    raise ToolError(f"{tool} changed nothing: {first_error}", rel)


def replace_symbol(
    ctx: ToolContext,
    name: str,
    path: Annotated[str, ExistingPath],
    new_source: str,
) -> ToolResult:
    """Replace a whole function, method or class by name with its complete new
    source; the old text need not be copied. Prefer it to edit_file to rewrite one.

    Args:
        name: name or qualified name, e.g. Cart.total
        path: file path relative to the repository root
        new_source: the complete new definition, header included
    """
    _check_text("new_source", new_source)
    name = check_name(name)
    found = find_in_file(ctx, name, path)
    loaded, index, target = found.loaded, found.index, found.symbol
    rel = found.rel
    ctx.require_fresh(rel, loaded.data, "replace a definition in")
    source = _clean(normalize_input(new_source, loaded.fmt))
    if not source.strip():
        raise ToolError(
            "new_source is empty; send the complete new definition (to delete code, use edit_file)",
            rel,
        )
    text = loaded.text
    indent = index.indent_of(target)
    if indent.strip():  # code before the definition on its line: splice at the definition
        splice_at, lead = target.start, ""
    else:
        splice_at, lead = target.line_start, indent
    attempts = []
    for shaped in _shapes(source, lead, indent):
        updated = text[:splice_at] + shaped + text[target.end :]
        attempts.append((updated, splice_at, splice_at + len(shaped)))
    updated, new = _apply("replace_symbol", rel, text, attempts, target.kind, index.lang)
    after = encode_text(updated, loaded.fmt, rel)
    if after == loaded.data:
        raise ToolError(f"the new source is the same as {target.qualname}; nothing to change", rel)
    renamed = f" (now named {new.qualname})" if new.qualname != target.qualname else ""
    summary = f"replace {target.kind} {target.qualname} in {rel}"
    model_text = (
        f"ok: replaced {target.kind} {target.qualname} in {rel} (was lines {target.line}-"
        f"{target.end_line}, now {new.line}-{new.end_line}){renamed}"
        + _snippet(updated, new.line, new.end_line)
        + "\n"
        + check_syntax(rel, text, updated).message
    )
    return ctx.commit_change(
        "replace_symbol", loaded.resolved, loaded.data, after, summary, model_text
    )


def insert_symbol(
    ctx: ToolContext,
    position: Literal["after", "before"],
    name: str,
    path: Annotated[str, ExistingPath],
    source: str,
) -> ToolResult:
    """Add one new function, method or class after or before an existing one.
    Prefer it to edit_file to add one.

    Args:
        position: after or before the named definition
        name: the existing definition, e.g. Cart.total
        path: file path relative to the repository root
        source: the complete new definition
    """
    if position not in ("after", "before"):
        raise ToolError(f"position must be 'after' or 'before', not {position!r}")
    _check_text("source", source)
    name = check_name(name)
    found = find_in_file(ctx, name, path)
    loaded, index, anchor = found.loaded, found.index, found.symbol
    rel = found.rel
    ctx.require_fresh(rel, loaded.data, "insert a definition into")
    source = _clean(normalize_input(source, loaded.fmt))
    if not source.strip():
        raise ToolError("source is empty; send the complete new definition", rel)
    text = loaded.text
    indent = index.indent_of(anchor)
    if indent.strip():
        raise ToolError(
            f"{anchor.qualname} shares its line with other code; use edit_file here", rel
        )
    # PEP 8 puts two blank lines between top-level definitions in Python.
    blank = 2 if index.lang == "python" and anchor.depth == 0 and not indent else 1
    gap = "\n" * (blank + 1)
    attempts = []
    for shaped in _shapes(source, indent, indent):
        if position == "after":
            updated = text[: anchor.end] + gap + shaped + text[anchor.end :]
            lo = anchor.end + len(gap)
        else:
            updated = text[: anchor.line_start] + shaped + gap + text[anchor.line_start :]
            lo = anchor.line_start
        attempts.append((updated, lo, lo + len(shaped)))
    updated, new = _apply("insert_symbol", rel, text, attempts, None, index.lang)
    after = encode_text(updated, loaded.fmt, rel)
    summary = f"insert {new.kind} {new.qualname} {position} {anchor.qualname} in {rel}"
    model_text = (
        f"ok: inserted {new.kind} {new.qualname} {position} {anchor.qualname} in {rel} "
        f"(lines {new.line}-{new.end_line})"
        + _snippet(updated, new.line, new.end_line)
        + "\n"
        + check_syntax(rel, text, updated).message
    )
    return ctx.commit_change(
        "insert_symbol", loaded.resolved, loaded.data, after, summary, model_text
    )
