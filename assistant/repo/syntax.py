"""Syntax check of a change: does the new text of a file parse, and if not,
is that the change's fault?

Both versions are parsed with the repo map's tree-sitter grammars (the same
12 languages, same extension table). An ERROR or MISSING node of the new text
is blamed on the change only when the old text has no error on an identical
line: line numbers move when lines are added above, the text of a broken line
does not. Files of other languages are not checked, and the report says so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace

from assistant.repo.languages import language_for

MAX_ISSUES = 50  # per parse; a file this broken has one real problem to fix first
CONTEXT_LINES = 2
MAX_SHOWN = 3


@dataclass(frozen=True)
class SyntaxIssue:
    line: int  # 1-based
    column: int  # 1-based
    missing: str | None  # the token tree-sitter had to invent (a MISSING node), if any
    near: str  # the start of the offending text
    end_line: int = 0  # last line of the error region (an ERROR node can span a block)

    def describe(self) -> str:
        if self.missing:
            return f"line {self.line}: syntax error: missing `{self.missing}` near `{self.near}`"
        return f"line {self.line}: syntax error near `{self.near}`"


@dataclass(frozen=True)
class SyntaxReport:
    path: str
    language: str | None  # None: no grammar for this file, nothing was checked
    new_issues: tuple[SyntaxIssue, ...] = ()
    old_issues: int = 0  # errors the old text had already (not blamed on the change)
    context: str = ""  # numbered lines around the first new issue

    @property
    def checked(self) -> bool:
        return self.language is not None

    @property
    def ok(self) -> bool:
        return not self.new_issues

    @property
    def message(self) -> str:
        """One note for the tool result the model reads."""
        if self.language is None:
            return f"syntax: not checked (no parser for {self.path})"
        if self.ok:
            if self.old_issues:
                return (
                    f"syntax: no new errors ({self.language}; the file had "
                    f"{self.old_issues} syntax error(s) before this change)"
                )
            return f"syntax: ok ({self.language})"
        shown = "\n".join(issue.describe() for issue in self.new_issues[:MAX_SHOWN])
        more = len(self.new_issues) - MAX_SHOWN
        if more > 0:
            shown += f"\n… and {more} more"
        return (
            f"warning: this change introduced a syntax error in {self.path} "
            f"({self.language}); it was applied anyway, fix it with another edit:\n"
            f"{shown}\n{self.context}"
        ).rstrip()


def check_syntax(path: str, old_text: str | None, new_text: str) -> SyntaxReport:
    """Compare the syntax errors of `new_text` with those of `old_text` (None:
    a new file). Never raises: a grammar that fails to load counts as none."""
    language = language_for(path)
    if language is None:
        return SyntaxReport(path, None)
    try:
        new = list(_issues(language, new_text))
        old = list(_issues(language, old_text)) if old_text else []
    except Exception:  # a broken grammar wheel must not break an edit
        return SyntaxReport(path, None)
    new_lines = new_text.splitlines()
    old_lines = (old_text or "").splitlines()
    before = Counter(_signature(i, old_lines) for i in old)
    blamed: list[SyntaxIssue] = []
    for issue in new:
        key = _signature(issue, new_lines)
        if before[key] > 0:
            before[key] -= 1
        else:
            blamed.append(issue)
    blamed = [_focus(issue, new_lines, old_lines) for issue in blamed]
    context = _context(new_lines, blamed[0].line) if blamed else ""
    return SyntaxReport(path, language, tuple(blamed), len(old), context)


def _issues(language: str, text: str) -> Iterator[SyntaxIssue]:
    # The repo map package (numpy for ranking) loads only when a file is parsed.
    from assistant.repo.repomap.languages import get_parser

    tree = get_parser(language).parse(text.encode("utf-8"))
    found = 0
    stack = [tree.root_node]
    while stack and found < MAX_ISSUES:
        node = stack.pop()
        # A leaf with an error inside is a MISSING token the grammar hides (C#).
        leaf_error = node.has_error and node.child_count == 0
        if node.is_missing or node.type == "ERROR" or leaf_error:
            found += 1
            row, col = node.start_point
            near = _near(text, node.start_byte, node.end_byte)
            missing = (
                node.type if node.is_missing or (leaf_error and node.type != "ERROR") else None
            )
            end = node.end_point[0] + 1
            yield SyntaxIssue(row + 1, col + 1, missing, near, max(end, row + 1))
            if node.type == "ERROR":
                continue  # its children are part of the same error
        if node.has_error:
            stack.extend(reversed(node.children))


def _near(text: str, start: int, end: int) -> str:
    data = text.encode("utf-8")
    # A MISSING node is empty: show what precedes it on its line.
    if end <= start:
        line_start = data.rfind(b"\n", 0, start) + 1
        snippet = data[line_start:start]
    else:
        snippet = data[start:end]
    first = snippet.decode("utf-8", errors="replace").strip().split("\n")[0].strip()
    return first[:40] + ("…" if len(first) > 40 else "")


def _focus(issue: SyntaxIssue, new: list[str], old: list[str]) -> SyntaxIssue:
    """Where a multi-line error region overlaps the lines the change touched,
    point at the first touched line: tree-sitter often opens the ERROR at the
    enclosing block (`def …`, `f() {`), far above the actual slip."""
    if issue.end_line <= issue.line:
        return issue
    first = 0
    while first < min(len(new), len(old)) and new[first] == old[first]:
        first += 1
    line = first + 1  # first changed line, 1-based
    if not issue.line < line <= issue.end_line or line > len(new):
        return issue
    near = new[line - 1].strip()
    near = near[:40] + ("…" if len(near) > 40 else "")
    return replace(issue, line=line, column=1, near=near)


def _signature(issue: SyntaxIssue, lines: list[str]) -> tuple[str, str, str]:
    line = lines[issue.line - 1].strip() if 0 < issue.line <= len(lines) else ""
    return (issue.missing or "ERROR", issue.near, line)


def _context(lines: list[str], line: int) -> str:
    lo = max(1, line - CONTEXT_LINES)
    hi = min(len(lines), line + CONTEXT_LINES)
    width = len(str(hi))
    rows = []
    for n in range(lo, hi + 1):
        mark = ">" if n == line else " "
        rows.append(f"{mark}{n:>{width}}| {lines[n - 1]}")
    return "\n".join(rows)
