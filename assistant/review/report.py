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
from assistant.terminal import show_controls

# The CLI imports this module for `FailOn`/`OutputFormat` when it builds its
# help; the runner and pygments (rich.syntax) load when a report is printed.
if TYPE_CHECKING:
    from rich.syntax import Syntax

    from assistant.review.chunks import ChunkRef
    from assistant.review.runner import ChunkReport, ReviewResult

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


def _chunk_json(chunk: ChunkReport) -> dict[str, Any]:
    return {
        "chunk": chunk.label,
        "state": chunk.state.value,
        "prompt_tokens": chunk.prompt_tokens,
        "cached_tokens": chunk.cached_tokens,
        "evaluated_tokens": chunk.evaluated_tokens,
        "generated_tokens": chunk.generated_tokens,
        "seconds": round(chunk.seconds, 3),
    }


def summary(result: ReviewResult) -> dict[str, Any]:
    by_severity = {s.value: 0 for s in Severity}
    for finding in result.findings:
        by_severity[finding.severity.value] += 1
    tokens = result.tokens
    stopped = result.stopped_in
    return {
        "files_reviewed": len(result.reviewed),
        "files_skipped": len(result.skipped),
        "chunks": result.total_chunks,  # started, the one cut by a timeout included
        "chunks_planned": result.planned_chunks,
        "chunks_done": sum(1 for c in result.chunks if c.done),
        "findings": len(result.findings),
        "by_severity": by_severity,
        "dropped_outside_diff": result.dropped_outside_diff,
        "invalid_findings": result.invalid,
        "bad_answers": result.bad_answers,
        "clamped": result.clamped,
        "complete": result.incomplete is None,
        "incomplete_reason": result.incomplete,
        "stopped_in": None if stopped is None else _chunk_json(stopped),
        "not_started": [ref.label for ref in result.not_started],
        "tokens": {
            "prompt": tokens.prompt,
            "cached": tokens.cached,
            "evaluated": tokens.evaluated,
            "generated": tokens.generated,
        },
        "seconds": round(result.seconds, 3),
        "prefix_cache_tokens": sum(c.loaded_tokens for c in result.chunks),
    }


def to_json(result: ReviewResult) -> dict[str, Any]:
    return {
        "version": 1,
        "findings": [f.to_json() for f in sort_findings(result.findings)],
        # What the model said about lines outside the diff, and why it did not count.
        "dropped": [d.to_json() for d in result.dropped],
        "skipped": [{"path": s.path, "reason": s.reason.value} for s in result.skipped],
        "chunks": [_chunk_json(c) for c in result.chunks],
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
    code = show_controls("\n".join(lines[start - 1 : end]))  # the file may be hostile
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


def print_rich(
    result: ReviewResult, console: Console, *, verbose: bool = False, hook_note: str = ""
) -> None:
    findings = sort_findings(result.findings)
    current = None
    for finding in findings:
        if finding.file != current:
            current = finding.file
            console.rule(Text(show_controls(finding.file), style="bold"), align="left")
        where = (
            f"{finding.line}"
            if finding.end_line == finding.line
            else f"{finding.line}-{finding.end_line}"
        )
        title = Text.assemble(
            (finding.severity.value.upper(), STYLES[finding.severity]),
            f" {finding.category.value}  {show_controls(finding.file)}:{where}",
        )
        # The model wrote these: escape sequences are shown, never obeyed.
        parts: list[Any] = [Text(show_controls(finding.message))]
        snippet = _snippet(finding, result.sources.get(finding.file, []))
        if snippet is not None:
            parts.append(snippet)
        if finding.suggestion:
            parts.append(
                Text.assemble(("Suggestion: ", "bold green"), show_controls(finding.suggestion))
            )
        console.print(Panel(Group(*parts), title=title, title_align="left", border_style="dim"))
    print_summary(result, console, verbose=verbose, hook_note=hook_note)


def describe_chunks(refs: Sequence[ChunkRef], most: int = 4) -> str:
    """`a.py, b.py (parts 2-5 of 9)`: chunks grouped by file, parts as ranges."""
    if not refs:
        return "nothing"
    parts: dict[str, list[int]] = {}
    total: dict[str, int] = {}
    for ref in refs:
        parts.setdefault(ref.path, []).append(ref.part)
        total[ref.path] = ref.parts
    words: list[str] = []
    for path, numbers in parts.items():
        if total[path] == 1 or len(set(numbers)) == total[path]:
            words.append(path)
            continue
        spans: list[str] = []
        for n in sorted(set(numbers)):
            if spans and spans[-1].split("-")[-1] == str(n - 1):
                spans[-1] = spans[-1].split("-")[0] + f"-{n}"
            else:
                spans.append(str(n))
        label = "part" if len(numbers) == 1 else "parts"
        words.append(f"{path} ({label} {', '.join(spans)} of {total[path]})")
    shown = show_controls(", ".join(words[:most]))  # paths from the diff
    return shown + (f" and {len(words) - most} more file(s)" if len(words) > most else "")


def _tokens_text(result: ReviewResult) -> str:
    tokens = result.tokens
    if tokens.prompt == 0:  # no model figures (nothing ran, or a replayed answer)
        return ""
    cached = f" (+{tokens.cached:,} from cache)" if tokens.cached else ""
    return (
        f"; {tokens.evaluated:,} prompt token(s) evaluated{cached}, {tokens.generated:,} generated"
    )


def print_summary(
    result: ReviewResult, console: Console, *, verbose: bool = False, hook_note: str = ""
) -> None:
    """The summary line; for a review stopped early, what was and was not
    reviewed (one more line when `hook_note` is set: a commit hook stays short);
    with `verbose`, every finding dropped outside the diff."""
    info = summary(result)
    counts = ", ".join(f"{n} {s}" for s, n in info["by_severity"].items() if n)
    # A review stopped early must not read like a pass.
    head = ("review INCOMPLETE: ", "bold yellow") if result.incomplete else ("review: ", "bold")
    if result.incomplete and result.planned_chunks:
        scope = (
            f" in {info['chunks_done']} of {info['chunks_planned']} chunk(s)"
            f" ({info['files_reviewed']} file(s) changed)"
        )
    else:
        scope = f" in {info['files_reviewed']} file(s), {info['chunks']} chunk(s)"
    dropped = info["dropped_outside_diff"]
    line = Text.assemble(
        head,
        f"{info['findings']} finding(s)" + (f" ({counts})" if counts else ""),
        scope,
        f"; {dropped} dropped outside the diff",
    )
    if dropped and not verbose:
        line.append(" (--verbose lists them)")
    if info["invalid_findings"]:
        line.append(f", {info['invalid_findings']} invalid")
    if result.skipped:
        reasons: dict[str, int] = {}
        for item in result.skipped:
            reasons[item.reason.value] = reasons.get(item.reason.value, 0) + 1
        line.append("; skipped " + ", ".join(f"{n} {r}" for r, n in reasons.items()))
    line.append(_tokens_text(result))
    line.append(f" [{info['seconds']:.1f} s]", style="dim")
    console.print(line, soft_wrap=True)
    if result.incomplete:
        _print_incomplete(result, console, hook_note)
    if verbose:
        print_dropped(result, console)


def _print_incomplete(result: ReviewResult, console: Console, hook_note: str) -> None:
    assert result.incomplete is not None
    done = [c.ref for c in result.chunks if c.done and c.ref is not None]
    stopped = result.stopped_in
    if hook_note:  # one line: git prints it between the commit's own lines
        scope = f"; reviewed {len(done)} of {result.planned_chunks} chunk(s)"
        console.print(
            Text(
                f"warning: review incomplete: {result.incomplete}"
                f"{scope if result.planned_chunks else ''}; {hook_note}",
                style="yellow",
            ),
            soft_wrap=True,
        )
        return
    console.print(
        Text(f"warning: review incomplete: {result.incomplete}", style="yellow"), soft_wrap=True
    )
    if stopped is not None and stopped.ref is not None and stopped.state.cut:
        from assistant.review.runner import ChunkState  # loaded: a review ran

        where = "reading its prompt" if stopped.state is ChunkState.CUT_READING else "answering"
        unread = stopped.prompt_tokens - stopped.cached_tokens
        console.print(
            Text(
                f"stopped in {stopped.label} while {where}: {stopped.evaluated_tokens:,} of "
                f"{unread:,} prompt token(s) evaluated, {stopped.generated_tokens:,} generated",
                style="yellow",
            ),
            soft_wrap=True,
        )
    # An answer cut at the token limit is incomplete, but the review went on.
    stopped_early = stopped is not None or result.not_started or not result.chunks
    label = "reviewed before it stopped" if stopped_early else "reviewed"
    console.print(Text(f"{label}: {describe_chunks(done)}", style="yellow"), soft_wrap=True)
    if result.not_started:
        console.print(
            Text(
                f"not started: {len(result.not_started)} chunk(s): "
                f"{describe_chunks(result.not_started)}",
                style="yellow",
            ),
            soft_wrap=True,
        )


def print_dropped(result: ReviewResult, console: Console) -> None:
    """`--verbose`: each finding dropped outside the diff, and why."""
    if not result.dropped:
        return
    console.print(f"dropped outside the diff ({len(result.dropped)}):", highlight=False)
    for item in result.dropped:
        f = item.finding
        console.print(
            Text.assemble(
                f"  {show_controls(f.file)}:{f.line} ",
                (f.severity.value, STYLES[f.severity]),
                f" {f.category.value}: {show_controls(f.message)} ",
                (f"[{item.explain()}]", "dim"),
            ),
            soft_wrap=True,
        )


def print_trace(result: ReviewResult, console: Console) -> None:
    """Per chunk: where the prompt tokens came from (--trace)."""
    for chunk in result.chunks:
        console.print(
            f"trace: {chunk.label}: prompt {chunk.prompt_tokens} tokens = "
            f"{chunk.loaded_tokens} from the disk prefix cache + "
            f"{chunk.reused_tokens if not chunk.loaded_tokens else 0} re-used in memory + "
            f"{chunk.evaluated_tokens} evaluated; {chunk.generated_tokens} generated; "
            f"{chunk.seconds:.2f} s; kept {chunk.kept}, dropped {chunk.dropped}, "
            f"invalid {chunk.invalid}" + ("" if chunk.done else f"; {chunk.state.value}"),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
