"""Unified diffs as data: files, hunks and lines with their line numbers.

Parses what `git diff --no-color --no-ext-diff --src-prefix=a/ --dst-prefix=b/`
prints (renames, copies, mode changes, binary markers, unmerged paths and
C-quoted names included). Line numbers on the new side are what findings are
anchored to."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_OCTAL = re.compile(r"[0-7]{3}")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class ChangeKind(enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"


class LineKind(enum.Enum):
    CONTEXT = " "
    ADDED = "+"
    REMOVED = "-"


@dataclass(frozen=True)
class DiffLine:
    kind: LineKind
    text: str
    old_no: int | None  # line number on the old side (None for added lines)
    new_no: int | None  # line number on the new side (None for removed lines)


@dataclass
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str = ""  # the function name git puts after the second @@
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def new_end(self) -> int:
        """Last new-side line of the hunk (new_start - 1 when it adds nothing)."""
        return self.new_start + self.new_count - 1

    @property
    def header(self) -> str:
        tail = f" {self.section}" if self.section else ""
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@{tail}"

    def contains(self, line: int) -> bool:
        return self.new_count > 0 and self.new_start <= line <= self.new_end

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind is LineKind.ADDED)

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind is LineKind.REMOVED)


@dataclass
class FileDiff:
    old_path: str | None  # None for an added file
    new_path: str | None  # None for a deleted file
    kind: ChangeKind = ChangeKind.MODIFIED
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    unmerged: bool = False
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def mode_changed(self) -> bool:
        return (
            self.old_mode is not None
            and self.new_mode is not None
            and self.old_mode != self.new_mode
        )

    @property
    def has_content_change(self) -> bool:
        return bool(self.hunks)

    def hunk_at(self, line: int) -> Hunk | None:
        for hunk in self.hunks:
            if hunk.contains(line):
                return hunk
        return None


def unquote_path(text: str) -> str:
    """Undo git's C-style quoting of a path ("a/t\\303\\251st" -> a/tést)."""
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    body = text[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode("utf-8", "surrogateescape")
            i += 1
            continue
        nxt = body[i + 1]
        if _OCTAL.fullmatch(body[i + 1 : i + 4]):
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += _ESCAPES.get(nxt, nxt).encode("utf-8")
            i += 2
    return out.decode("utf-8", "replace")


def _strip_prefix(path: str, prefix: str) -> str | None:
    path = unquote_path(path.rstrip("\t"))
    if path == "/dev/null":
        return None
    return path[len(prefix) :] if path.startswith(prefix) else path


def _split_git_header(rest: str) -> tuple[str | None, str | None]:
    """Paths from `diff --git a/X b/Y` (used when no ---/+++ lines follow)."""
    if rest.startswith('"'):
        end = rest.find('"', 1)
        while end > 0 and rest[end - 1] == "\\":
            end = rest.find('"', end + 1)
        old = rest[: end + 1]
        new = rest[end + 2 :]
        return _strip_prefix(old, "a/"), _strip_prefix(new, "b/")
    if rest.endswith('"'):
        start = rest.rfind(' "')
        return _strip_prefix(rest[:start], "a/"), _strip_prefix(rest[start + 1 :], "b/")
    # Unquoted and ambiguous when names hold " b/": for same-name entries
    # (mode-only changes) the two halves are equal, so split in the middle.
    half = (len(rest) - 1) // 2
    if rest[half] == " " and rest[:half].removeprefix("a/") == rest[half + 1 :].removeprefix("b/"):
        return rest[2:half], rest[half + 3 :]
    old, _, new = rest.partition(" b/")
    return old.removeprefix("a/"), new


def parse_unified_diff(text: str) -> list[FileDiff]:
    files: list[FileDiff] = []
    current: FileDiff | None = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("diff --git "):
            old, new = _split_git_header(line[len("diff --git ") :])
            current = FileDiff(old, new)
            files.append(current)
        elif line.startswith("* Unmerged path "):
            path = unquote_path(line[len("* Unmerged path ") :])
            files.append(FileDiff(path, path, unmerged=True))
            current = None
        elif current is None:
            continue
        elif line.startswith("new file mode "):
            current.kind = ChangeKind.ADDED
            current.new_mode = line.split()[-1]
            current.old_path = None
        elif line.startswith("deleted file mode "):
            current.kind = ChangeKind.DELETED
            current.old_mode = line.split()[-1]
            current.new_path = None
        elif line.startswith("old mode "):
            current.old_mode = line.split()[-1]
        elif line.startswith("new mode "):
            current.new_mode = line.split()[-1]
        elif line.startswith("rename from "):
            current.kind = ChangeKind.RENAMED
            current.old_path = unquote_path(line[len("rename from ") :])
        elif line.startswith("rename to "):
            current.new_path = unquote_path(line[len("rename to ") :])
        elif line.startswith("copy from "):
            current.kind = ChangeKind.COPIED
            current.old_path = unquote_path(line[len("copy from ") :])
        elif line.startswith("copy to "):
            current.new_path = unquote_path(line[len("copy to ") :])
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            current.binary = True
        elif line.startswith("--- "):
            current.old_path = _strip_prefix(line[4:], "a/")
        elif line.startswith("+++ "):
            current.new_path = _strip_prefix(line[4:], "b/")
        elif line.startswith("@@ "):
            hunk, i = _parse_hunk(line, lines, i)
            if hunk is not None:
                current.hunks.append(hunk)
    return files


def _parse_hunk(header: str, lines: list[str], i: int) -> tuple[Hunk | None, int]:
    match = _HUNK.match(header)
    if match is None:
        return None, i
    old_start, old_count, new_start, new_count, section = match.groups()
    hunk = Hunk(
        int(old_start),
        1 if old_count is None else int(old_count),
        int(new_start),
        1 if new_count is None else int(new_count),
        section.strip(),
    )
    old_no, new_no = hunk.old_start, hunk.new_start
    old_left, new_left = hunk.old_count, hunk.new_count
    # Count lines rather than look for the next header: a body line may itself
    # start with "diff --git" or "@@" after its one-character prefix.
    while i < len(lines) and (old_left > 0 or new_left > 0):
        line = lines[i]
        if line.startswith("\\"):  # "\ No newline at end of file"
            i += 1
            continue
        tag, body = (line[:1] or " "), line[1:]
        if tag == "+":
            hunk.lines.append(DiffLine(LineKind.ADDED, body, None, new_no))
            new_no += 1
            new_left -= 1
        elif tag == "-":
            hunk.lines.append(DiffLine(LineKind.REMOVED, body, old_no, None))
            old_no += 1
            old_left -= 1
        elif tag == " ":
            hunk.lines.append(DiffLine(LineKind.CONTEXT, body, old_no, new_no))
            old_no += 1
            new_no += 1
            old_left -= 1
            new_left -= 1
        else:
            break
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):
        i += 1
    return hunk, i
