"""edit_file: replace text that must match exactly once (or everywhere with
replace_all), forgiving whitespace slips through the layered matchers."""

from __future__ import annotations

from typing import Annotated

from assistant.tools.context import ToolContext
from assistant.tools.matching import apply_spans, closest_lines, find_matches, line_of, lines_of
from assistant.tools.read_file import number_lines, split_lines
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.sandbox import MAX_TEXT_CHARS, encode_text, normalize_input
from assistant.tools.schema import ExistingPath

from assistant.repo.syntax import check_syntax

SNIPPET_LINES = 30


def _check_text(name: str, value: str) -> None:
    if len(value) > MAX_TEXT_CHARS:
        raise ToolError(
            f"{name} is too long ({len(value)} characters; the limit is {MAX_TEXT_CHARS}); "
            "make smaller edits"
        )


def edit_file(
    ctx: ToolContext,
    path: Annotated[str, ExistingPath],
    old_text: str,
    new_text: str,
    replace_all: bool = False,
) -> ToolResult:
    """Replace old_text with new_text in a file you have read in this session.

    old_text must match exactly one place (copy it from read_file output without the
    `N| ` prefixes, with a few surrounding lines to make it unique), or every place
    when replace_all is true. Small whitespace differences are tolerated and reported.

    Args:
        path: file path relative to the repository root
        old_text: the exact text to replace, including indentation
        new_text: the text to put in its place
        replace_all: replace every occurrence instead of requiring exactly one
    """
    _check_text("old_text", old_text)
    _check_text("new_text", new_text)
    if not old_text.strip():
        raise ToolError(
            "old_text is empty; give the exact lines to replace (to create a file, use write_file)"
        )
    loaded = ctx.load_existing(path)
    rel = loaded.resolved.rel
    ctx.require_fresh(rel, loaded.data, "edit")
    text, fmt = loaded.text, loaded.fmt
    old = normalize_input(old_text, fmt)
    new = normalize_input(new_text, fmt)
    if old == new:
        raise ToolError("old_text and new_text are the same; nothing to change", rel)
    outcome = find_matches(text, old, new)
    if not outcome.spans:
        raise ToolError(_no_match_message(rel, text, old), rel)
    starts = lines_of(text, [span.start for span in outcome.spans])
    if len(outcome.spans) > 1 and not replace_all:
        where = ", ".join(str(n) for n in starts[:10]) + (", …" if len(starts) > 10 else "")
        raise ToolError(
            f"old_text matches {len(outcome.spans)} places in {rel} (lines {where}, "
            f"{outcome.matcher} match); include more surrounding lines so that it matches "
            "exactly one, or set replace_all to true to change all of them",
            rel,
        )
    updated = apply_spans(text, outcome.spans)
    after = encode_text(updated, fmt, rel)
    if after == loaded.data:
        raise ToolError("the edit would not change the file; nothing to do", rel)
    count = len(outcome.spans)
    how = outcome.matcher + " match"
    summary = f"edit {rel} ({count} replacement{'s' if count > 1 else ''}, {how})"
    note = ""
    if outcome.matcher != "exact":
        note = (
            f"\nnote: old_text did not match exactly; it matched with {outcome.matcher} "
            "matching, so check the result below"
        )
    model_text = (
        f"ok: edited {rel}: {count} replacement{'s' if count > 1 else ''} at "
        f"line{'s' if count > 1 else ''} {', '.join(str(n) for n in starts[:10])} ({how})"
        + note
        + _snippet(updated, outcome.spans[0].start, len(outcome.spans[0].replacement))
        + "\n"
        + check_syntax(rel, text, updated).message
    )
    return ctx.commit_change("edit_file", loaded.resolved, loaded.data, after, summary, model_text)


def _snippet(updated: str, start: int, length: int) -> str:
    """The first edited region after the change, with two lines of context."""
    lines = split_lines(updated)
    if not lines:
        return "\nthe file is now empty"
    first = line_of(updated, start)
    last = line_of(updated, start + max(length - 1, 0))
    lo = max(1, first - 2)
    hi = min(len(lines), last + 2, lo + SNIPPET_LINES - 1)
    rows = number_lines(lines[lo - 1 : hi], lo)
    return f"\nlines {lo}-{hi} now:\n" + "\n".join(rows)


def _no_match_message(rel: str, text: str, old: str) -> str:
    base = (
        f"old_text was not found in {rel} (also tried ignoring trailing whitespace, "
        "indentation and whitespace differences)."
    )
    closest = closest_lines(text, old)
    if closest is None:
        return base + " No similar lines either: call read_file to see the current text."
    first, lines = closest
    shown = lines[:SNIPPET_LINES]
    rows = number_lines(shown, first)
    return (
        base
        + f" Did you mean lines {first}-{first + len(shown) - 1}?\n"
        + "\n".join(rows)
        + "\nCopy old_text exactly from these lines (without the `N| ` prefixes) and try again."
    )
