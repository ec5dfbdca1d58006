"""Running the user's lint and test commands after the model's changes.

The commands come from the user (flags or config), never from a model tool
call. Each runs in the repository root through the shell, with no stdin, in
its own process group (a timeout kills everything it started), and with its
output read into a bounded buffer: a command that prints 10 MB costs memory
for the head and tail only. What the model then reads is clipped to what
matters: pytest's failures section and summary, or the `file:line:` lines of
a linter, or else the end of the output."""

from __future__ import annotations

import enum
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 300.0  # seconds per command
KEEP_BYTES = 256 * 1024  # raw output kept: this much of the head, and of the tail
MAX_CHARS = 4000  # what the model (and the --json event) gets
FILES_PLACEHOLDER = "{files}"


class CheckKind(enum.Enum):
    LINT = "lint"
    TEST = "test"


@dataclass(frozen=True)
class CheckCommand:
    kind: CheckKind
    command: str  # a shell command line; `{files}` becomes the changed files


@dataclass(frozen=True)
class CheckResult:
    kind: CheckKind
    command: str  # as run, `{files}` expanded
    exit_code: int | None  # None: it timed out or could not start
    output: str  # clipped to what matters
    timed_out: bool = False
    seconds: float = 0.0
    output_bytes: int = 0  # everything it printed, before clipping

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def expand(command: str, files: Sequence[str]) -> str | None:
    """`command` with `{files}` replaced by the quoted paths; None when it
    wants files and there are none (nothing to lint)."""
    if FILES_PLACEHOLDER not in command:
        return command
    if not files:
        return None
    return command.replace(FILES_PLACEHOLDER, " ".join(shlex.quote(f) for f in files))


def run_check(
    check: CheckCommand,
    root: Path,
    files: Sequence[str] = (),
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_chars: int = MAX_CHARS,
) -> CheckResult | None:
    """Run one check in `root`; None when it has nothing to check."""
    command = expand(check.command, files)
    if command is None:
        return None
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one on timeout
            env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "TERM": "dumb"},
        )
    except OSError as exc:
        return CheckResult(check.kind, command, None, f"could not run {command!r}: {exc}")
    buffer = _Bounded(KEEP_BYTES)
    assert proc.stdout is not None
    reader = threading.Thread(target=buffer.drain, args=(proc.stdout,), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
    except BaseException:  # Ctrl-C: leave nothing running
        _kill_group(proc)
        raise
    reader.join(timeout=5)
    seconds = time.monotonic() - start
    text = buffer.text()
    output = clip_output(text, check.kind, max_chars)
    if timed_out:
        output = (output + "\n" if output else "") + f"[timed out after {timeout:g} s]"
    code = None if timed_out else proc.returncode
    return CheckResult(check.kind, command, code, output, timed_out, seconds, buffer.total)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            continue


class _Bounded:
    """The first and last `keep` bytes of a stream, and how much there was."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def drain(self, stream: object) -> None:
        read = stream.read1 if hasattr(stream, "read1") else stream.read  # type: ignore[attr-defined]
        while True:
            chunk = read(65536)
            if not chunk:
                return
            self.total += len(chunk)
            room = self.keep - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > self.keep:
                    del self.tail[: len(self.tail) - self.keep]

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.tail:
            return head
        skipped = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", errors="replace")
        gap = f"\n[… {skipped} bytes of output skipped …]\n" if skipped > 0 else ""
        return head + gap + tail


# ---------------------------------------------------------------- clipping

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PYTEST_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$", re.MULTILINE)
_PYTEST_SUMMARY = re.compile(r"^=+ short test summary info =+$", re.MULTILINE)
_LOCATION = re.compile(r"^\s*[^\s:][^:\n]*\.\w+:\d+(:\d+)?[: ]")


def clip_output(text: str, kind: CheckKind, max_chars: int = MAX_CHARS) -> str:
    """The part of a check's output a model needs to fix the failure."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    found = _PYTEST_SECTION.search(text)
    if found:
        failures = text[found.start() :]
        summary = _PYTEST_SUMMARY.search(failures)
        if summary:
            body, tail = failures[: summary.start()], failures[summary.start() :]
            return _fit(_pytest_essentials(body), tail.strip(), max_chars)
        return _fit(_pytest_essentials(failures), "", max_chars)
    if kind is CheckKind.LINT:
        lines = [line for line in text.splitlines() if _LOCATION.match(line)]
        if lines:
            return _fit("\n".join(lines), "", max_chars)
    return _tail(text.strip(), max_chars)


def _pytest_essentials(body: str) -> str:
    """Each failure's header, its `>` line, `E` lines and `file:line` location;
    the rest of the traceback is noise for a small model."""
    keep: list[str] = []
    for line in body.splitlines():
        if (
            line.startswith(("_", ">", "E ", "E\t"))
            or _LOCATION.match(line)
            or line.startswith("=")
        ):
            keep.append(line.rstrip())
    return "\n".join(keep) if keep else body


def _fit(body: str, tail: str, max_chars: int) -> str:
    """`body` then `tail` (the summary, kept whole if it fits) in `max_chars`."""
    if len(body) + len(tail) + 1 <= max_chars:
        return (body + "\n" + tail).strip()
    tail = _tail(tail, max_chars // 3) if tail else ""
    room = max(0, max_chars - len(tail) - 40)
    return (body[:room].rstrip() + "\n[… clipped …]\n" + tail).strip()


def _tail(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[-max_chars:]
    newline = cut.find("\n")
    if 0 <= newline < 200:
        cut = cut[newline + 1 :]
    return "[… clipped …]\n" + cut
