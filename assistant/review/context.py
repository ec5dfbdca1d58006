"""Code around a hunk: the enclosing function or class, found with tree-sitter.

The repo map's tag queries already know where every definition starts and ends
(`assistant.repo.repomap.tags.extract_tags`), so the innermost definition that holds
a hunk's changed lines is the context a reviewer needs to judge the change.
Files in languages without a grammar get no extra context (the hunk's own
context lines remain)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.review.diff import Hunk, LineKind


@dataclass(frozen=True)
class CodeBlock:
    start: int  # 1-based, inclusive, new side
    end: int
    label: str  # e.g. "function parse_args"


def changed_span(hunk: Hunk) -> tuple[int, int] | None:
    """First and last new-side line the hunk adds, else its whole new range."""
    added = [line.new_no for line in hunk.lines if line.kind is LineKind.ADDED and line.new_no]
    if added:
        return min(added), max(added)
    if hunk.new_count > 0:
        return hunk.new_start, hunk.new_end
    return None


def _definitions(path: str, content: bytes) -> list[tuple[int, int, str]]:
    try:
        from assistant.repo.languages import language_for
        from assistant.repo.repomap.tags import extract_tags
    except ImportError:  # tree-sitter grammars missing: degrade to no context
        return []
    lang = language_for(path)
    if lang is None:
        return []
    try:
        tags = extract_tags(content, lang)
    except Exception:  # a parser failure must never stop a review
        return []
    return [(d.line, d.end_line, f"{d.kind} {d.name}") for d in tags.defs]


def enclosing_blocks(
    path: str, content: bytes, hunks: Sequence[Hunk], max_lines: int = 80
) -> dict[int, CodeBlock]:
    """Per hunk index: the innermost definition holding its changed lines,
    trimmed to `max_lines` around the change; hunks at top level get none.
    A block the hunk already shows in full is left out."""
    defs = _definitions(path, content)
    if not defs:
        return {}
    n_lines = content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
    out: dict[int, CodeBlock] = {}
    for index, hunk in enumerate(hunks):
        span = changed_span(hunk)
        if span is None:
            continue
        lo, hi = span
        holders = [d for d in defs if d[0] <= lo and d[1] >= hi]
        if not holders:
            continue
        start, end, label = min(holders, key=lambda d: d[1] - d[0])
        end = min(end, n_lines)
        if end - start + 1 > max_lines:
            # Keep the definition's first line, then a window around the change.
            half = max(0, (max_lines - (hi - lo + 1)) // 2)
            start, end = max(start, lo - half), min(end, hi + half)
        if hunk.new_count > 0 and hunk.new_start <= start and end <= hunk.new_end:
            continue
        out[index] = CodeBlock(start, end, label)
    return out
