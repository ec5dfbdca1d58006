"""read_file: numbered lines of one file, capped, with a note on what was cut."""

from __future__ import annotations

from typing import Annotated

from assistant.tools.context import ToolContext
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.schema import ExistingPath

MAX_LINES = 400
MAX_CHARS = 40_000
MAX_LINE_CHARS = 1_000


def split_lines(text: str) -> list[str]:
    """Lines as the model sees them (no terminators, no phantom last line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def number_lines(lines: list[str], first: int, width: int | None = None) -> list[str]:
    """`N| text` rows; the same prefix edit_file knows how to strip if copied."""
    width = width or len(str(first + len(lines) - 1))
    out: list[str] = []
    for offset, line in enumerate(lines):
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f" … [line cut at {MAX_LINE_CHARS} chars]"
        out.append(f"{first + offset:>{width}}| {line}")
    return out


def read_file(
    ctx: ToolContext,
    path: Annotated[str, ExistingPath],
    start_line: int | None = None,
    end_line: int | None = None,
) -> ToolResult:
    """Read a text file of the repository, shown as numbered lines (`N| text`).

    Long files are cut; the note at the end says how to read the rest. Reading a file
    is required before editing or overwriting it.

    Args:
        path: file path relative to the repository root, e.g. src/app.py
        start_line: first line to show (1-based); default 1
        end_line: last line to show (inclusive); default: as many as fit
    """
    loaded = ctx.load_existing(path)
    rel = loaded.resolved.rel
    ctx.mark_read(rel, loaded.data)
    lines = split_lines(loaded.text)
    total = len(lines)
    notes = []
    if loaded.fmt.describe() != "utf-8":
        notes.append(loaded.fmt.describe())
    if total == 0:
        return ToolResult(True, f"{rel}: empty file (0 lines)", path=rel)
    start = 1 if start_line is None else start_line
    if start < 1:
        raise ToolError(f"start_line must be 1 or more (got {start})", rel)
    if start > total:
        raise ToolError(f"start_line {start} is past the end of {rel} ({total} lines)", rel)
    end = total if end_line is None else min(end_line, total)
    if end < start:
        raise ToolError(f"end_line ({end_line}) is before start_line ({start})", rel)
    end = min(end, start + MAX_LINES - 1)
    rows = number_lines(lines[start - 1 : end], start, len(str(end)))
    shown: list[str] = []
    size = 0
    for row in rows:
        if shown and size + len(row) + 1 > MAX_CHARS:
            break
        shown.append(row)
        size += len(row) + 1
    last = start + len(shown) - 1
    header = f"{rel} (lines {start}-{last} of {total}" + "".join(f"; {n}" for n in notes) + ")"
    body = "\n".join([header, *shown])
    if last < total and (end_line is None or last < min(end_line, total)):
        body += (
            f"\n[cut: showed lines {start}-{last} of {total}; call read_file with "
            f"start_line={last + 1} to continue]"
        )
    return ToolResult(True, body, path=rel)
