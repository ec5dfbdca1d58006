"""Showing a review: a Rich report for people, JSON and SARIF for tools, and
the exit status `--fail-on` asks for."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from assistant.review.findings import Finding, Severity

# The CLI imports this module for `FailOn`/`OutputFormat` when it builds its
# help; the runner and pygments (rich.syntax) load when a report is printed.
if TYPE_CHECKING:
    from rich.syntax import Syntax

    from assistant.review.runner import ReviewResult

SNIPPET_CONTEXT = 2
MAX_SNIPPET_LINES = 12
STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


class OutputFormat(enum.Enum):
    RICH = "rich"
    JSON = "json"
    SARIF = "sarif"


class FailOn(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    NEVER = "never"

    def triggered_by(self, findings: Sequence[Finding]) -> bool:
        if self is FailOn.NEVER:
            return False
        threshold = Severity(self.value).rank
        return any(f.severity.rank >= threshold for f in findings)


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line, -f.severity.rank, f.message))


def summary(result: ReviewResult) -> dict[str, Any]:
    by_severity = {s.value: 0 for s in Severity}
    for finding in result.findings:
        by_severity[finding.severity.value] += 1
    return {
        "files_reviewed": len(result.reviewed),
        "files_skipped": len(result.skipped),
        "chunks": result.total_chunks,
        "findings": len(result.findings),
        "by_severity": by_severity,
        "dropped_outside_diff": result.dropped_outside_diff,
        "invalid_findings": result.invalid,
        "bad_answers": result.bad_answers,
        "clamped": result.clamped,
        "complete": result.incomplete is None,
        "incomplete_reason": result.incomplete,
        "seconds": round(result.seconds, 3),
        "prefix_cache_tokens": sum(c.loaded_tokens for c in result.chunks),
    }


def to_json(result: ReviewResult) -> dict[str, Any]:
    return {
        "version": 1,
        "findings": [f.to_json() for f in sort_findings(result.findings)],
        "skipped": [{"path": s.path, "reason": s.reason.value} for s in result.skipped],
        "summary": summary(result),
    }


def render_text(result: ReviewResult, fmt: OutputFormat) -> str:
    from assistant.review.sarif import to_sarif

    data = to_sarif(result) if fmt is OutputFormat.SARIF else to_json(result)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _snippet(finding: Finding, lines: Sequence[str]) -> Syntax | None:
    if not lines or finding.line > len(lines):
        return None
    from rich.syntax import Syntax

    start = max(1, finding.line - SNIPPET_CONTEXT)
    end = min(len(lines), finding.end_line + SNIPPET_CONTEXT, start + MAX_SNIPPET_LINES - 1)
    code = "\n".join(lines[start - 1 : end])
    marked = set(range(finding.line, min(finding.end_line, end) + 1))
    return Syntax(
        code,
        Syntax.guess_lexer(finding.file, code),
        line_numbers=True,
        start_line=start,
        highlight_lines=marked,
        word_wrap=True,
        theme="ansi_dark",
    )


def print_rich(result: ReviewResult, console: Console) -> None:
    findings = sort_findings(result.findings)
    current = None
    for finding in findings:
        if finding.file != current:
            current = finding.file
            console.rule(Text(finding.file, style="bold"), align="left")
        where = (
            f"{finding.line}"
            if finding.end_line == finding.line
            else f"{finding.line}-{finding.end_line}"
        )
        title = Text.assemble(
            (finding.severity.value.upper(), STYLES[finding.severity]),
            f" {finding.category.value}  {finding.file}:{where}",
        )
        parts: list[Any] = [Text(finding.message)]
        snippet = _snippet(finding, result.sources.get(finding.file, []))
        if snippet is not None:
            parts.append(snippet)
        if finding.suggestion:
            parts.append(Text.assemble(("Suggestion: ", "bold green"), finding.suggestion))
        console.print(Panel(Group(*parts), title=title, title_align="left", border_style="dim"))
    print_summary(result, console)


def print_summary(result: ReviewResult, console: Console) -> None:
    info = summary(result)
    counts = ", ".join(f"{n} {s}" for s, n in info["by_severity"].items() if n)
    # A review stopped early must not read like a pass.
    head = ("review INCOMPLETE: ", "bold yellow") if result.incomplete else ("review: ", "bold")
    line = Text.assemble(
        head,
        f"{info['findings']} finding(s)" + (f" ({counts})" if counts else ""),
        f" in {info['files_reviewed']} file(s), {info['chunks']} chunk(s)",
        f"; {info['dropped_outside_diff']} dropped outside the diff",
    )
    if info["invalid_findings"]:
        line.append(f", {info['invalid_findings']} invalid")
    if result.skipped:
        reasons: dict[str, int] = {}
        for item in result.skipped:
            reasons[item.reason.value] = reasons.get(item.reason.value, 0) + 1
        line.append("; skipped " + ", ".join(f"{n} {r}" for r, n in reasons.items()))
    line.append(f" [{info['seconds']:.1f} s]", style="dim")
    console.print(line)
    if result.incomplete:
        console.print(Text(f"warning: review incomplete: {result.incomplete}", style="yellow"))
        reviewed = ", ".join(result.reviewed) if result.reviewed else "nothing"
        console.print(Text(f"reviewed before it stopped: {reviewed}", style="yellow"))


def print_trace(result: ReviewResult, console: Console) -> None:
    """Per chunk: where the prompt tokens came from (--trace)."""
    for chunk in result.chunks:
        console.print(
            f"trace: {chunk.label}: prompt {chunk.prompt_tokens} tokens = "
            f"{chunk.loaded_tokens} from the disk prefix cache + "
            f"{chunk.reused_tokens if not chunk.loaded_tokens else 0} re-used in memory + "
            f"{chunk.evaluated_tokens} evaluated; {chunk.generated_tokens} generated; "
            f"{chunk.seconds:.2f} s; kept {chunk.kept}, dropped {chunk.dropped}, "
            f"invalid {chunk.invalid}",
            highlight=False,
            markup=False,
        )
