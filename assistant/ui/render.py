"""Turning agent events into output. Renderers only consume events.

- `RichRenderer`: a terminal. Answers stream as Markdown (code highlighted),
  thoughts dimmed or hidden, one status line per tool call, edits as coloured
  diffs, a footer with context use and speed.
- `PlainRenderer`: not a terminal. Text as it comes on stdout, everything else
  as plain lines on stderr (one line as each step starts, so a script's log
  shows progress), no ANSI codes. For `edit` (`answer_to_stderr`) stdout holds
  the diff only.
- `JsonRenderer`: `--json`. One JSON object per line on stdout.
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.status import Status
from rich.syntax import Syntax
from rich.text import Text

from assistant.events import (
    AgentEvent,
    Done,
    Notice,
    Outcome,
    Progress,
    StepStats,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    ToolCallError,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from assistant.terminal import printable

CODE_THEME = "monokai"
REFRESH_SECONDS = 0.08


def for_terminal(event: AgentEvent) -> AgentEvent:
    """The event with the model's text made safe to print: an answer, a
    thought, a tool call's arguments or a tool's message can carry escape
    sequences, which are shown, never obeyed (assistant/terminal.py)."""
    if not is_dataclass(event):
        return event
    changes: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str):
            safe = printable(value)
            if safe != value:
                changes[f.name] = safe
        elif isinstance(value, dict):
            cleaned = {k: printable(v) if isinstance(v, str) else v for k, v in value.items()}
            if cleaned != value:
                changes[f.name] = cleaned
    return replace(event, **changes) if changes else event


def call_summary(name: str, arguments: dict[str, Any]) -> str:
    """`read_file todo/store.py` — the tool and its most telling argument."""
    for key in ("path", "pattern", "query", "command", "glob"):
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return f"{name} {value}"
    return name


def outcome_line(event: ToolFinished, width: int = 120) -> str:
    """A short human line for a tool's result: its first sentence (what
    follows is usually advice for the model, "Ask the user what they want
    instead…", which stays in --json and the trace), cut to `width` with an
    ellipsis."""
    first = event.text.strip().splitlines()[0] if event.text.strip() else ""
    sentence = re.split(r"(?<=[a-z0-9)\]])\. (?=[A-Z])", first, maxsplit=1)[0]
    return shorten(sentence, width)


def shorten(text: str, width: int) -> str:
    width = max(8, width)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _consume(shown: set[str], diff: str) -> bool:
    if diff in shown:
        shown.discard(diff)
        return True
    return False


def progress_text(event: Progress) -> str:
    """`reading 1,166 new tokens: 512/1,166 · about 18 s left` while a prompt
    is evaluated batch by batch; the bare message before the first batch."""
    if event.total <= 0 or event.done <= 0:
        return event.message
    text = f"{event.message}: {event.done:,}/{event.total:,}"
    if event.seconds > 0 and event.done < event.total:
        left = event.seconds / event.done * (event.total - event.done)
        text += f" · about {left:.0f} s left" if left >= 1 else " · under a second left"
    return text


def footer_text(stats: StepStats | None, turn: TurnFinished) -> str:
    parts = []
    # A stopped step's prompt was not all read, and chat drops a stopped turn:
    # its size is not what the conversation holds.
    if stats is not None and turn.outcome is not Outcome.CANCELLED:
        parts.append(f"{stats.used_tokens:,}/{stats.n_ctx:,} tokens")
    total = turn.stats
    if total.generation_ms > 0:
        parts.append(f"{total.tokens_per_second:.1f} tok/s")
    if total.prompt_eval_ms > 0:
        parts.append(f"prompt {total.evaluated_tokens:,} tok in {total.prompt_eval_ms / 1000:.1f}s")
    parts.append(f"{turn.steps} step{'s' if turn.steps != 1 else ''}")
    return " · ".join(parts)


# ---------------------------------------------------------------- Rich

# Columns the live region leaves free: the terminal echoes "^C" after its last
# line, and a row that reaches the last column may wrap early in some terminals.
LIVE_MARGIN = 3


def _safe_rows(line: Text, width: int) -> list[Text]:
    """`line` cut into rows that cannot wrap in any terminal. Live redraws by
    moving the cursor up one row per line; a line the terminal wraps into two
    rows (it measures a CJK, Indic or emoji string wider than Rich does) leaves
    a stale copy behind on every redraw. Counting every non-ASCII code point
    as two columns, the most any terminal draws, rules that out."""
    plain = line.plain
    width = max(8, width)
    if plain.isascii() and len(plain) <= width:
        return [line]
    offsets: list[int] = []
    used = 0
    for index, char in enumerate(plain):
        cells = 1 if char.isascii() else 2
        if used + cells > width:
            offsets.append(index)
            used = 0
        used += cells
    return list(line.divide(offsets)) if offsets else [line]


class _MarkdownStream:
    """Streams Markdown through a Live region that always fits on the screen:
    lines that would not fit are printed above it for good, so nothing is
    drawn twice.

    Live redraws by moving the cursor up over its region. Rows of a region
    taller than the screen scroll out of reach: they stay behind as a copy,
    and the same lines printed for good later repeat them (Ctrl-C on a long
    answer showed it twice, and left the screen blank above `stopped`). So the
    region is budgeted in terminal rows, not Markdown lines, and each redraw
    sets the region's new content before printing lines above it: Rich draws
    the region again under what it prints, and an old, taller region drawn
    there would scroll lines off the screen."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self.printed = 0
        self.last = 0.0
        self.live = Live(console=console, auto_refresh=False, transient=False)
        self.live.start()

    @property
    def _width(self) -> int:
        return max(8, self.console.width - LIVE_MARGIN)

    def _lines(self) -> list[str]:
        # Rendered at the live region's width, so a line printed for good is
        # the line that was shown live (no reflow, no word cut at the margin).
        buffer = io.StringIO()
        render = Console(
            file=buffer,
            width=self._width,
            force_terminal=True,
            color_system="truecolor" if self.console.color_system == "truecolor" else "256",
        )
        render.print(Markdown(self.text, code_theme=CODE_THEME))
        return buffer.getvalue().rstrip("\n").splitlines()

    def _rows(self, line: str) -> list[Text]:
        text = Text.from_ansi(line)
        text.rstrip_end(self._width)  # Rich pads lines with spaces: not a row of their own
        return _safe_rows(text, self._width)

    def add(self, delta: str) -> None:
        self.text += delta
        now = time.monotonic()
        if now - self.last >= REFRESH_SECONDS:
            self.last = now
            self._refresh(final=False)

    def _refresh(self, final: bool) -> None:
        lines = self._lines()
        pending = [self._rows(line) for line in lines[self.printed :]]
        keep = 0  # lines left in the live region; the last one may still change
        if not final:
            window = max(4, self.console.height - 2)
            height = sum(len(rows) for rows in pending)
            keep = len(pending)
            while keep > 1 and height > window:
                height -= len(pending[len(pending) - keep])
                keep -= 1
        stable = len(lines) - keep
        region = [row for rows in pending[len(pending) - keep :] for row in rows]
        self.live.update(Text("\n").join(region), refresh=False)
        if stable > self.printed:
            # Printing through Live erases the old region and draws the new one below.
            self.live.console.print(Text.from_ansi("\n".join(lines[self.printed : stable])))
            self.printed = stable
        else:
            self.live.refresh()

    def finish(self) -> None:
        self._refresh(final=True)
        self.live.stop()


class RichRenderer:
    # False: tool results print no diff (a dry run prints the combined one once).
    tool_diffs = True

    def __init__(self, console: Console | None = None, show_thoughts: bool = True) -> None:
        self.console = console or Console(highlight=False)
        self.show_thoughts = show_thoughts
        self._shown_diffs: set[str] = set()
        self._stream: _MarkdownStream | None = None
        self._status: Status | None = None
        self._thinking = False
        self._last_stats: StepStats | None = None

    # -- helpers
    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _start_status(self, message: str) -> None:
        self._stop_status()
        self._status = self.console.status(message, spinner="dots")
        self._status.start()

    def _end_stream(self) -> None:
        if self._stream is not None:
            self._stream.finish()
            self._stream = None
        if self._thinking:
            self.console.print()
            self._thinking = False

    def close(self) -> None:
        self._stop_status()
        self._end_stream()

    # -- events
    def __call__(self, event: AgentEvent) -> None:
        event = for_terminal(event)
        if isinstance(event, Progress):
            self._end_stream()
            if event.done and self._status is not None:
                self._status.update(f"{progress_text(event)}…")  # no flicker per batch
            else:
                self._start_status(f"{progress_text(event)}…")
            return
        if isinstance(event, ThoughtDelta):
            if not self.show_thoughts:
                if self._status is None:
                    self._start_status("thinking…")
                return
            self._stop_status()
            self._thinking = True
            self.console.print(Text(event.text, style="dim italic"), end="")
            return
        self._stop_status()
        if isinstance(event, TextDelta):
            if self._thinking:
                self.console.print()
                self._thinking = False
            if self._stream is None:
                if not event.text.strip():
                    return
                self._stream = _MarkdownStream(self.console)
            self._stream.add(event.text)
        elif isinstance(event, ToolCall | ToolCallError | Done):
            self._end_stream()
        elif isinstance(event, ToolStarted):
            self._end_stream()
            self._start_status(f"{call_summary(event.name, event.arguments)}…")
        elif isinstance(event, ToolFinished):
            self._stop_status()
            mark = "[green]✓[/]" if event.ok else "[red]✗[/]"
            line = Text.from_markup(f"{mark} [bold]")
            width = self.console.width - 4  # the mark, the dash, a spare column
            summary = shorten(call_summary(event.name, event.arguments), width // 2)
            line.append(summary)
            line.append(" — ", style="dim")
            rest = width - len(summary)
            line.append(outcome_line(event, rest), style="dim" if event.ok else "red")
            self.console.print(line)
            if event.diff and self.tool_diffs and not _consume(self._shown_diffs, event.diff):
                self.diff(event.diff)
        elif isinstance(event, Notice):
            self._end_stream()
            style = "yellow" if event.warning else "dim"
            self.console.print(Text(event.text, style=style))
        elif isinstance(event, StepStats):
            self._last_stats = event
        elif isinstance(event, TurnFinished):
            self._end_stream()
            self.console.print(Text(footer_text(self._last_stats, event), style="dim"))

    def info(self, text: str) -> None:
        self.close()
        self.console.print(text, markup=False, highlight=False)

    def markdown(self, text: str) -> None:
        """A whole answer drawn as a streamed one is (same width, same
        Markdown rendering), e.g. the last exchange of a resumed chat."""
        self.close()
        stream = _MarkdownStream(self.console)
        stream.add(text)
        stream.finish()

    def warn(self, text: str) -> None:
        self.close()
        self.console.print(Text(text, style="yellow"))

    def diff(self, diff: str) -> None:
        self.console.print(
            Syntax(diff.rstrip("\n"), "diff", theme=CODE_THEME, background_color="default")
        )

    def record(self, kind: str, **fields: Any) -> None:
        return

    def diff_shown(self, diff: str) -> None:
        """The approval prompt showed this diff: the tool's result will not again."""
        self._shown_diffs.add(diff)

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        self._start_status(message)
        try:
            yield
        finally:
            self._stop_status()


# ---------------------------------------------------------------- plain


class PlainRenderer:
    """No terminal: the answer text on `out`, the rest as plain lines on `err`;
    `diff()` (a dry run's combined diff) on `diff_out`, `out` unless given."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        show_thoughts: bool = False,
        diff_out: TextIO | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.diff_out = diff_out or self.out
        self.show_thoughts = show_thoughts
        self.tool_diffs = True
        self._shown_diffs: set[str] = set()
        self._at_line_start = True
        self._answer_started = False
        self._last_stats: StepStats | None = None
        self._step = 0  # of the current turn; counted from the steps' Progress

    def _text(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        if text:
            self._at_line_start = text.endswith("\n")

    def _line(self, text: str) -> None:
        if not self._at_line_start:
            self._text("\n")
        self.err.write(text + "\n")
        self.err.flush()

    def _progress(self, text: str) -> None:
        """A sign of life on stderr: no spinner here, and a step can take a
        minute on a slow machine, so a script's log would look hung."""
        if self._step:
            self._line(f"step {self._step}: {text}…")

    def __call__(self, event: AgentEvent) -> None:
        event = for_terminal(event)
        if isinstance(event, Progress):
            if event.step:
                self._step = event.step
                self._progress(event.message)
            elif not event.done:  # "writing edit_file call"; not each batch of the prompt
                self._progress(event.message)
        elif isinstance(event, ToolStarted):
            self._progress(call_summary(event.name, event.arguments))
        elif isinstance(event, TextDelta):
            if not self._answer_started:
                if not event.text.strip():
                    return  # leading blank lines of an answer
                self._answer_started = True
            self._text(event.text)
        elif isinstance(event, ThoughtDelta):
            if self.show_thoughts:
                self.err.write(event.text)
                self.err.flush()
        elif isinstance(event, ToolCall | Done):
            self._answer_started = False
        elif isinstance(event, ToolFinished):
            mark = "ok" if event.ok else "failed"
            self._line(
                f"[{mark}] {call_summary(event.name, event.arguments)}: {outcome_line(event)}"
            )
            if event.diff and self.tool_diffs and not _consume(self._shown_diffs, event.diff):
                self.err.write(event.diff if event.diff.endswith("\n") else event.diff + "\n")
        elif isinstance(event, Notice):
            self._line(("warning: " if event.warning else "") + event.text)
        elif isinstance(event, StepStats):
            self._last_stats = event
        elif isinstance(event, TurnFinished):
            if not self._at_line_start:
                self._text("\n")
            self._step = 0
            self.err.write(footer_text(self._last_stats, event) + "\n")
            self.err.flush()

    def info(self, text: str) -> None:
        self._text(text + "\n")

    def markdown(self, text: str) -> None:
        self._text(text + "\n")

    def warn(self, text: str) -> None:
        self._line(f"warning: {text}")

    def diff(self, diff: str) -> None:
        if self.diff_out is self.out:
            self._text(diff if diff.endswith("\n") else diff + "\n")
            return
        self.diff_out.write(diff if diff.endswith("\n") else diff + "\n")
        self.diff_out.flush()

    def record(self, kind: str, **fields: Any) -> None:
        return

    def diff_shown(self, diff: str) -> None:
        self._shown_diffs.add(diff)

    def close(self) -> None:
        if not self._at_line_start:
            self._text("\n")

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        self.err.write(message + "\n")
        self.err.flush()
        yield


# ---------------------------------------------------------------- JSON lines


@dataclass
class JsonRenderer:
    """`--json`: every event one JSON object per line; text deltas as they come."""

    out: TextIO

    def _write(self, kind: str, **fields: Any) -> None:
        self.out.write(json.dumps({"type": kind, **fields}, default=str) + "\n")
        self.out.flush()

    def __call__(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            self._write("text", text=event.text)
        elif isinstance(event, ThoughtDelta):
            self._write("thought", text=event.text)
        elif isinstance(event, ToolStarted):
            self._write("tool_call", name=event.name, arguments=event.arguments)
        elif isinstance(event, ToolFinished):
            self._write(
                "tool_result", name=event.name, ok=event.ok, text=event.text, path=event.path
            )
            if event.diff:
                self._write("diff", path=event.path, diff=event.diff)
        elif isinstance(event, ToolCallError):
            self._write("tool_error", message=event.message)
        elif isinstance(event, Notice):
            self._write("notice", text=event.text, warning=event.warning)
        elif isinstance(event, StepStats):
            s = event.stats
            self._write(
                "step",
                prompt_tokens=s.prompt_tokens,
                reused_tokens=s.reused_tokens,
                loaded_tokens=s.loaded_tokens,
                evaluated_tokens=s.evaluated_tokens,
                generated_tokens=s.generated_tokens,
                prompt_eval_ms=round(s.prompt_eval_ms, 1),
                generation_ms=round(s.generation_ms, 1),
                used_tokens=event.used_tokens,
                n_ctx=event.n_ctx,
            )
        elif isinstance(event, TurnFinished):
            s = event.stats
            self._write(
                "final",
                text=event.answer,
                outcome=event.outcome.value,
                steps=event.steps,
                tool_calls=event.tool_calls,
                changed_files=list(event.changed_files),
            )
            self._write(
                "stats",
                evaluated_tokens=s.evaluated_tokens,
                generated_tokens=s.generated_tokens,
                prompt_eval_ms=round(s.prompt_eval_ms, 1),
                generation_ms=round(s.generation_ms, 1),
                tokens_per_second=round(s.tokens_per_second, 2),
            )

    def info(self, text: str) -> None:
        self._write("info", text=text)

    def markdown(self, text: str) -> None:
        self._write("info", text=text)

    def warn(self, text: str) -> None:
        self._write("notice", text=text, warning=True)

    def diff(self, diff: str) -> None:
        self._write("diff", path=None, diff=diff)

    def diff_shown(self, diff: str) -> None:
        return  # JSON keeps every diff event: it is data, not a screen

    def record(self, kind: str, **fields: Any) -> None:
        self._write(kind, **fields)

    def close(self) -> None:
        return

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        self._write("progress", text=message)
        yield


AnyRenderer = RichRenderer | PlainRenderer | JsonRenderer


def make_renderer(
    *,
    as_json: bool,
    show_thoughts: bool,
    stream: TextIO | None = None,
    tool_diffs: bool = True,
    answer_to_stderr: bool = False,
) -> AnyRenderer:
    """JSON when asked; Rich on a terminal; plain text otherwise. `tool_diffs`
    False: tool results show no diff (the caller prints a combined one).
    `answer_to_stderr` (edit, not a terminal): the model's words and every
    other line go to stderr, so stdout holds only the diff `diff()` prints."""
    out = stream or sys.stdout
    if as_json:
        return JsonRenderer(out)
    renderer: RichRenderer | PlainRenderer
    if out.isatty():
        renderer = RichRenderer(Console(file=out, highlight=False), show_thoughts=show_thoughts)
    elif answer_to_stderr:
        renderer = PlainRenderer(sys.stderr, sys.stderr, show_thoughts, diff_out=out)
    else:
        renderer = PlainRenderer(out, sys.stderr, show_thoughts=show_thoughts)
    renderer.tool_diffs = tool_diffs
    return renderer
