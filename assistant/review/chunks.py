"""Cutting a review into model-sized chunks: one file per chunk, split by hunk
(and a huge hunk by line windows) when the file does not fit the budget.

A chunk's text shows the enclosing code with new-side line numbers and the
hunks with the same numbers, so the model can name exact lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.review.context import CodeBlock
from assistant.review.diff import ChangeKind, DiffLine, FileDiff, Hunk, LineKind

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class ChunkRef:
    """Which part of which file a chunk is (for saying what was reviewed)."""

    path: str
    part: int = 1
    parts: int = 1

    @property
    def label(self) -> str:
        return self.path if self.parts == 1 else f"{self.path} (part {self.part}/{self.parts})"


@dataclass
class Chunk:
    path: str
    hunks: list[Hunk]
    text: str
    part: int = 1
    parts: int = 1

    @property
    def ref(self) -> ChunkRef:
        return ChunkRef(self.path, self.part, self.parts)

    @property
    def label(self) -> str:
        return self.ref.label


@dataclass
class ReviewFile:
    diff: FileDiff
    lines: list[str]  # new-side content, split into lines
    blocks: dict[int, CodeBlock] = field(default_factory=dict)  # hunk index -> context


def describe(diff: FileDiff) -> str:
    kind = diff.kind.value
    if diff.kind in (ChangeKind.RENAMED, ChangeKind.COPIED) and diff.old_path:
        kind += f" from {diff.old_path}"
    return kind


def render_block(block: CodeBlock, lines: Sequence[str]) -> str:
    body = [
        f"{n:>6} | {lines[n - 1]}" for n in range(block.start, block.end + 1) if n <= len(lines)
    ]
    return f"Enclosing {block.label} (lines {block.start}-{block.end}):\n" + "\n".join(body)


def render_line(line: DiffLine) -> str:
    number = f"{line.new_no:>6}" if line.new_no is not None else " " * 6
    return f"{number} {line.kind.value} {line.text}"


def render_hunk(hunk: Hunk) -> str:
    return "\n".join([hunk.header, *(render_line(line) for line in hunk.lines)])


def file_header(diff: FileDiff) -> str:
    return f"### File: {diff.path} ({describe(diff)})"


def _split_hunk(hunk: Hunk, budget: int, count: CountTokens) -> list[Hunk]:
    """Windows of a hunk's lines, each within `budget` tokens (at least one line)."""
    parts: list[list[DiffLine]] = [[]]
    used = 0
    for line in hunk.lines:
        cost = count(render_line(line)) + 1
        if parts[-1] and used + cost > budget:
            parts.append([])
            used = 0
        parts[-1].append(line)
        used += cost
    return [_sub_hunk(lines, hunk.section) for lines in parts]


def _sub_hunk(lines: list[DiffLine], section: str) -> Hunk:
    olds = [line.old_no for line in lines if line.old_no is not None]
    news = [line.new_no for line in lines if line.new_no is not None]
    first_old = olds[0] if olds else next((n for n in (lines[0].old_no,) if n), 0)
    return Hunk(
        old_start=first_old,
        old_count=len(olds),
        new_start=news[0] if news else 0,
        new_count=len(news),
        section=section,
        lines=lines,
    )


def _pieces(item: ReviewFile, budget: int, count: CountTokens) -> list[tuple[list[Hunk], str]]:
    """(hunks, text) per hunk, each within budget: context dropped first, then
    the hunk split into line windows."""
    out: list[tuple[list[Hunk], str]] = []
    for index, hunk in enumerate(item.diff.hunks):
        block = item.blocks.get(index)
        text = render_hunk(hunk)
        if block is not None:
            with_block = render_block(block, item.lines) + "\n" + text
            if count(with_block) <= budget:
                out.append(([hunk], with_block))
                continue
        if count(text) <= budget:
            out.append(([hunk], text))
            continue
        for sub in _split_hunk(hunk, budget, count):
            out.append(([sub], render_hunk(sub)))
    return out


def chunk_file(item: ReviewFile, budget: int, count: CountTokens) -> list[Chunk]:
    """The file's chunks, each at most about `budget` tokens."""
    header = file_header(item.diff)
    room = max(64, budget - count(header) - 4)
    groups: list[tuple[list[Hunk], list[str]]] = []
    used = room + 1
    for hunks, text in _pieces(item, room, count):
        cost = count(text) + 2
        if used + cost > room:
            groups.append(([], []))
            used = 0
        groups[-1][0].extend(hunks)
        groups[-1][1].append(text)
        used += cost
    chunks = [
        Chunk(item.diff.path, hunks, header + "\n" + "\n\n".join(texts)) for hunks, texts in groups
    ]
    for i, chunk in enumerate(chunks, 1):
        chunk.part, chunk.parts = i, len(chunks)
    return chunks


def has_reviewable_lines(chunk: Chunk) -> bool:
    return any(line.kind is LineKind.ADDED for hunk in chunk.hunks for line in hunk.lines) or any(
        h.new_count > 0 for h in chunk.hunks
    )
