"""Finding `old_text` in a file when a small model got the whitespace slightly wrong.

Layers, strictest first: exact; trailing whitespace ignored; indentation-flexible
(relative indentation must agree, the new text is re-indented to the file's); and
whitespace-normalised. Each layer is tried again with read_file's `N| ` line-number
prefixes stripped when every line of `old_text` carries one. The first layer that
finds anything decides: one match is applied, several are reported as ambiguous
(never guessed), unless `replace_all` asks for every one."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

_LINE_NUMBER = re.compile(r"^ *\d+\| ?")


@dataclass(frozen=True)
class Span:
    start: int  # character offsets into the file text
    end: int
    replacement: str


@dataclass(frozen=True)
class MatchOutcome:
    matcher: str  # "" when nothing matched
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class _Lines:
    """The file text split into lines, with each line's start offset."""

    text: str
    lines: list[str]  # without terminators
    starts: list[int]
    ends: list[int]  # offset just past the line content (before the terminator)

    @classmethod
    def of(cls, text: str) -> _Lines:
        lines: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for piece in text.split("\n"):
            body = piece[:-1] if piece.endswith("\r") else piece
            lines.append(body)
            starts.append(pos)
            ends.append(pos + len(body))
            pos += len(piece) + 1
        return cls(text, lines, starts, ends)

    def collapsed(self) -> list[str]:
        return [_collapse(line) for line in self.lines]


def _split_old(old: str) -> tuple[list[str], bool]:
    """Lines of `old_text` and whether it ended with a line break."""
    ends_nl = old.endswith("\n")
    pieces = old.split("\n")
    if ends_nl:
        pieces.pop()
    return [piece[:-1] if piece.endswith("\r") else piece for piece in pieces], ends_nl


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _common_indent(lines: list[str]) -> str:
    indents = [_indent(line) for line in lines if line.strip()]
    if not indents:
        return ""
    prefix = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def _reindent(new: str, old_base: str, file_base: str, indent_map: dict[str, str]) -> str:
    """Re-indent `new` to fit the file: an indentation seen on an old_text line becomes
    the indentation of the file line it matched; other lines are shifted by the
    difference between the two base indentations."""
    out: list[str] = []
    for line in new.split("\n"):
        indent = _indent(line)
        if not line.strip():
            out.append(line)
        elif indent in indent_map:
            out.append(indent_map[indent] + line[len(indent) :])
        elif line.startswith(old_base):
            out.append(file_base + line[len(old_base) :])
        else:
            out.append(file_base + line.lstrip())
    return "\n".join(out)


_Key = Callable[[str], str]


def _exact_spans(text: str, old: str, new: str) -> list[Span]:
    spans: list[Span] = []
    start = text.find(old)
    while start >= 0:
        spans.append(Span(start, start + len(old), new))
        start = text.find(old, start + len(old))
    return spans


def _line_spans(
    file: _Lines, old: str, new: str, key: _Key, *, reindent: bool, dedent: bool
) -> list[Span]:
    old_lines, old_ends_nl = _split_old(old)
    while old_lines and not old_lines[-1].strip() and len(old_lines) > 1:
        old_lines.pop()
    if not old_lines or not any(line.strip() for line in old_lines):
        return []
    old_base = _common_indent(old_lines) if dedent else ""
    old_keys = [key(line[len(old_base) :] if line.strip() else "") for line in old_lines]
    replacement_base = new
    if old_ends_nl and new.endswith("\n"):
        replacement_base = new[:-1]
        if replacement_base.endswith("\r"):
            replacement_base = replacement_base[:-1]
    size = len(old_lines)
    spans: list[Span] = []
    i = 0
    keyed = [key(line) for line in file.lines] if not dedent else None
    # Cheap anchor for the dedent layers: the first non-blank line, whitespace collapsed.
    anchor = next(j for j, line in enumerate(old_lines) if line.strip())
    anchor_key = _collapse(old_lines[anchor])
    collapsed = file.collapsed() if dedent else []
    while i + size <= len(file.lines):
        if dedent and collapsed[i + anchor] != anchor_key:
            i += 1
            continue
        window = file.lines[i : i + size]
        if dedent:
            base = _common_indent(window)
            window_keys = [key(line[len(base) :] if line.strip() else "") for line in window]
        else:
            assert keyed is not None
            base = ""
            window_keys = keyed[i : i + size]
        if window_keys == old_keys:
            replacement = replacement_base
            if reindent:
                indent_map: dict[str, str] = {}
                for old_line, file_line in zip(old_lines, window, strict=True):
                    if old_line.strip():
                        indent_map.setdefault(_indent(old_line), _indent(file_line))
                replacement = _reindent(replacement_base, old_base, base, indent_map)
            spans.append(Span(file.starts[i], file.ends[i + size - 1], replacement))
            i += size
        else:
            i += 1
    return spans


def _rstrip(line: str) -> str:
    return line.rstrip()


def _collapse(line: str) -> str:
    return " ".join(line.split())


def _layers(file: _Lines, old: str, new: str) -> list[tuple[str, Callable[[], list[Span]]]]:
    return [
        ("exact", lambda: _exact_spans(file.text, old, new)),
        (
            "trailing whitespace ignored",
            lambda: _line_spans(file, old, new, _rstrip, reindent=False, dedent=False),
        ),
        (
            "indentation-flexible",
            lambda: _line_spans(file, old, new, _rstrip, reindent=True, dedent=True),
        ),
        (
            "whitespace-normalised",
            lambda: _line_spans(file, old, new, _collapse, reindent=True, dedent=True),
        ),
    ]


def strip_line_numbers(text: str) -> str | None:
    """`text` without read_file's `N| ` prefixes, or None if not every line has one."""
    lines = text.split("\n")
    if not any(line.strip() for line in lines):
        return None
    if not all(_LINE_NUMBER.match(line) for line in lines if line.strip()):
        return None
    return "\n".join(_LINE_NUMBER.sub("", line, count=1) for line in lines)


def find_matches(text: str, old: str, new: str) -> MatchOutcome:
    """The spans the first successful layer found (possibly several), or none."""
    file = _Lines.of(text)
    attempts: list[tuple[str, str, str]] = [("", old, new)]
    stripped_old = strip_line_numbers(old)
    if stripped_old is not None:
        stripped_new = strip_line_numbers(new)
        attempts.append(
            (
                "line-number prefixes removed, ",
                stripped_old,
                new if stripped_new is None else stripped_new,
            )
        )
    for label, candidate_old, candidate_new in attempts:
        if not candidate_old:
            continue
        for name, finder in _layers(file, candidate_old, candidate_new):
            spans = finder()
            if spans:
                return MatchOutcome(label + name, tuple(spans))
    return MatchOutcome("", ())


def apply_spans(text: str, spans: tuple[Span, ...]) -> str:
    """`text` with each (non-overlapping, ordered) span replaced."""
    out: list[str] = []
    pos = 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(span.replacement)
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


def lines_of(text: str, offsets: list[int]) -> list[int]:
    """1-based line numbers of ascending offsets, in one pass over `text` (calling
    `line_of` for each of 80,000 matches would be quadratic)."""
    out: list[int] = []
    line, pos = 1, 0
    for offset in offsets:
        line += text.count("\n", pos, offset)
        pos = offset
        out.append(line)
    return out


def closest_lines(text: str, old: str, context: int = 0) -> tuple[int, list[str]] | None:
    """The region of `text` most like `old` (first line number, lines), for a hint."""
    file_lines = text.split("\n")
    old_lines = old.split("\n")
    while old_lines and not old_lines[-1].strip():
        old_lines.pop()
    if not old_lines or not file_lines:
        return None
    wanted = {_collapse(line) for line in old_lines if line.strip()}
    size = min(len(old_lines), len(file_lines))
    hits = [1 if line.strip() and _collapse(line) in wanted else 0 for line in file_lines]
    best_start, best_score = 0, -1
    score = sum(hits[:size])
    for start in range(len(file_lines) - size + 1):
        if start:
            score += hits[start + size - 1] - hits[start - 1]
        if score > best_score:
            best_start, best_score = start, score
    if best_score <= 0:
        first = next((_collapse(line) for line in old_lines if line.strip()), "")
        best_ratio = 0.0
        for index, line in enumerate(file_lines[:20000]):
            matcher = difflib.SequenceMatcher(None, first, _collapse(line), autojunk=False)
            if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio > best_ratio:
                best_start, best_ratio = index, ratio
        if best_ratio < 0.5:
            return None
    start = max(0, best_start - context)
    end = min(len(file_lines), best_start + size + context)
    return start + 1, file_lines[start:end]
