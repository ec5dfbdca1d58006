"""Ctrl-C in `assistant chat` on a real pty, with real inference (SmolLM2 on
one thread) in a real git repository (issue 15, Chat): a stopped answer is
printed once and followed by `stopped`; Ctrl-C while the prompt is read
leaves no spinner or copies behind; a stopped turn keeps its /add attachments
and leaves its message out of the history (↑ brings it back); the session
goes on, and Ctrl-D exits 0 with the resume hint.

The terminal is emulated by pyte with scrollback, so the assertions see what a
user scrolling back would see, not just the last screen. Every wait keys off
text on that screen or in the raw output; the timeouts are generous because
the test machine is a loaded 2-core box."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from tests.agent.conftest import clean_env, make_repo

pyte = pytest.importorskip("pyte")

ROWS, COLS = 24, 80
WAIT = 120  # seconds for any one thing to appear
PROMPT_RE = r"\r\n> "
FOOTER = " step"  # the footer line ends "… · 1 step"
# SmolLM2 at temperature 0 answers this with well over a screen of prose and code
# (an essay prompt got a short answer the repetition guard stopped).
SPINNER = "[\u2800-\u28ff] "  # a frame of Rich's "dots" spinner, then the status
ESSAY = "Write a Python tutorial with ten sections, each with a heading, an explanation and a code example."


class Terminal:
    """`assistant chat` on a pty whose output feeds a pyte screen with scrollback."""

    def __init__(self, repo: Path, model: Path, *extra: str) -> None:
        env = clean_env()
        # Rich must see the pty's size: clean_env sets COLUMNS for help texts.
        env.update({"TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS)})
        args = ["-m", "assistant", "chat", "--model", str(model), "--threads", "1"]
        args += ["--temperature", "0", "--approval", "read-only", *extra]
        self.raw = io.StringIO()
        self.child = pexpect.spawn(
            sys.executable,
            args,
            cwd=str(repo),
            env=env,
            encoding="utf-8",
            dimensions=(ROWS, COLS),
            timeout=WAIT,
        )
        self.child.logfile_read = self.raw
        self.screen = pyte.HistoryScreen(COLS, ROWS, history=10_000)
        self.stream = pyte.Stream(self.screen)
        self.fed = 0

    def sync(self) -> None:
        data = self.raw.getvalue()
        self.stream.feed(data[self.fed :])
        self.fed = len(data)

    def expect(self, pattern: str | type[pexpect.EOF]) -> None:
        self.child.expect(pattern)
        self.sync()

    def wait_for(self, what: str, done: Callable[[], bool]) -> None:
        """Read output until `done()` holds for the emulated screen."""
        deadline = time.monotonic() + WAIT
        while True:
            self.sync()
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {WAIT} s:\n" + self.text())
            with contextlib.suppress(pexpect.TIMEOUT):
                self.child.read_nonblocking(65536, timeout=0.2)

    def display(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def lines(self) -> list[str]:
        """Everything a user could see: scrollback, then the screen."""
        history = [
            "".join(row[x].data for x in range(COLS)).rstrip() for row in self.screen.history.top
        ]
        return history + self.display()

    def text(self) -> str:
        return "\n".join(self.lines())

    def started(self) -> None:
        self.expect("Ctrl-D to quit")
        self.expect(PROMPT_RE)

    def ask(self, question: str) -> None:
        """Send a question; wait for its answer's footer and the next prompt."""
        self.child.sendline(question)
        self.expect(FOOTER)
        self.expect(PROMPT_RE)

    def command(self, line: str, reply: str) -> None:
        self.child.sendline(line)
        self.expect(reply)
        self.expect(PROMPT_RE)

    def exit_with_ctrl_d(self) -> None:
        self.child.sendeof()
        self.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus == 0, self.text()
        assert "`assistant chat --resume` continues it" in self.text()
        assert "Traceback" not in self.raw.getvalue(), self.text()


def _after(lines: list[str], first: str) -> list[str]:
    return lines[lines.index(first) + 1 :]


def _no_spinner_left(lines: list[str]) -> None:
    # A status line is a spinner frame then its message: none may stay behind.
    left = [line for line in lines if re.match(SPINNER, line)]
    assert not left, left


def _user_tokens(term: Terminal) -> int:
    """The `/tokens` count of the user's messages in the conversation."""
    term.child.sendline("/tokens")
    term.expect(r"your messages\s+([\d,]+)")
    count = int(term.child.match.group(1).replace(",", ""))
    term.expect(PROMPT_RE)
    return count


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """A real git repository with one small module: the prompt stays short."""
    return make_repo(
        tmp_path / "repo",
        {"calc.py": '"""Arithmetic."""\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n'},
    )


def test_ctrl_c_mid_answer_prints_it_once_then_stopped(
    small_repo: Path, smollm2_path: Path
) -> None:
    term = Terminal(small_repo, smollm2_path, "--ctx", "4096", "--max-tokens", "1500")
    try:
        term.started()
        term.child.sendline(ESSAY)
        # The question takes two rows of the terminal; the answer follows.
        asked = "> " + ESSAY
        rows = [asked[:COLS], asked[COLS:]]

        def answer_rows(lines: list[str]) -> list[str]:
            start = [i for i in range(len(lines) - 1) if lines[i : i + 2] == rows]
            assert len(start) <= 1, "the question is shown twice:\n" + term.text()
            return lines[start[0] + 2 :] if start else []

        # Interrupt once the answer is taller than the screen: its first lines
        # have scrolled into the scrollback (where copies used to pile up).
        def tall() -> bool:
            answer = answer_rows(term.lines())
            assert not any(x.endswith(FOOTER) for x in answer), "the answer ended:\n" + term.text()
            return sum(1 for x in answer if x) > ROWS + 4

        term.wait_for("an answer taller than the screen", tall)
        term.child.sendintr()
        term.expect("stopped")
        term.expect(FOOTER)
        term.expect(PROMPT_RE)

        lines = term.lines()
        after = answer_rows(lines)
        assert after.count("stopped") == 1, term.text()
        answer = [line for line in after[: after.index("stopped")] if line.strip()]
        assert len(answer) > ROWS, term.text()  # the scrolled-off part is kept
        # Printed once: the answer's opening lines occur nowhere else.
        assert lines.count(answer[0]) == 1, term.text()
        opening = answer[:2]
        starts = [i for i in range(len(answer) - 1) if answer[i : i + 2] == opening]
        assert starts == [0], term.text()
        # A row left behind by a redraw shows as a line repeated under itself;
        # this answer (numbered sections at temperature 0) repeats no line.
        repeats = [a for a, b in itertools.pairwise(answer) if a == b]
        assert not repeats, term.text()
        # `stopped` follows the end of the answer on the screen itself.
        display = term.display()
        stop_row = display.index("stopped")
        above = [line for line in display[:stop_row] if line.strip()]
        assert above and above[-1] == answer[-1], term.text()
        _no_spinner_left(after)

        # A short answer, stopped after a few lines, is printed once too.
        short = "Write a long essay about the history of computers."
        term.child.sendline(short)

        def some_text() -> bool:
            lines = term.lines()
            return "> " + short in lines and len([x for x in _after(lines, "> " + short) if x]) >= 3

        term.wait_for("the first lines of an answer", some_text)
        term.child.sendintr()
        term.expect("stopped")
        term.expect(FOOTER)
        term.expect(PROMPT_RE)
        lines = _after(term.lines(), "> " + short)
        assert lines.count("stopped") == 1, term.text()
        partial = [line for line in lines[: lines.index("stopped")] if line]
        assert partial, term.text()
        assert all(lines.count(line) == 1 for line in partial), term.text()

        # The session goes on: the prompt came back and a question is answered.
        term.ask("What is 2 + 2? Answer in one word.")
        tail = _after(term.lines(), "> What is 2 + 2? Answer in one word.")
        reply = [line for line in tail if line.strip() and not line.endswith(FOOTER)]
        assert reply and not reply[0].startswith(">"), term.text()
        term.exit_with_ctrl_d()
    finally:
        term.child.close(force=True)


BIG_MODULE = "\n\n".join(
    f'def step_{i}(value: int) -> int:\n    """Step {i} of the pipeline."""\n'
    f"    return value * {i} + {i % 7}\n"
    for i in range(20)
)


def test_ctrl_c_while_reading_keeps_attachments_and_leaves_no_turn(
    tmp_path: Path, smollm2_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"pipeline.py": BIG_MODULE})
    term = Terminal(repo, smollm2_path, "--ctx", "8192", "--max-tokens", "64")
    try:
        term.started()
        term.command("/add pipeline.py", "attached to your next message: pipeline.py")
        question = "What does step_3 return?"
        term.child.sendline(question)
        # Ctrl-C while the attached file is being read, before the first token.
        asked = "> " + question

        def reading() -> bool:
            lines = term.lines()
            return asked in lines and any(
                re.match(SPINNER + "reading", line) for line in _after(lines, asked)
            )

        term.wait_for("the reading status", reading)
        term.child.sendintr()
        term.expect("stopped")
        term.expect("not kept in the conversation")
        term.expect(PROMPT_RE)

        assert term.lines().count(asked) == 1, term.text()
        after = _after(term.lines(), asked)
        assert after.count("stopped") == 1, term.text()
        kept = [line for line in after if "not kept in the conversation" in line]
        assert len(kept) == 1, term.text()
        assert not any("step_" in line for line in after), term.text()  # no answer, no copies
        _no_spinner_left(after)

        # Not consumed, not in the history.
        term.command("/files", "attached to your next message: pipeline.py")
        assert _user_tokens(term) == 0, term.text()

        # ↑ brings the message back (past /tokens and /files); sent again, it
        # is answered, with the file.
        term.child.send("\x1b[A" * 3)
        term.wait_for("the message back", lambda: term.display()[term.screen.cursor.y] == asked)
        term.child.send("\r")
        term.expect(FOOTER)
        term.expect(PROMPT_RE)
        term.command("/files", "no files attached")
        assert _user_tokens(term) > 500, term.text()  # the question and the file
        term.exit_with_ctrl_d()
    finally:
        term.child.close(force=True)


def test_ctrl_c_during_a_check_stops_it_and_the_chat_goes_on(
    small_repo: Path, smollm2_path: Path
) -> None:
    """`/test` runs its command outside the model's Ctrl-C handling: Ctrl-C
    there used to end the whole chat ("interrupted", exit 130)."""
    (small_repo / "slow_check.sh").write_text("touch started\nexec sleep 300\n")
    term = Terminal(small_repo, smollm2_path, "--ctx", "4096", "--max-tokens", "16")
    try:
        term.started()
        term.child.sendline("/test sh slow_check.sh")
        term.wait_for("the check to start", (small_repo / "started").exists)
        term.child.sendintr()
        term.expect("stopped")
        term.expect(PROMPT_RE)
        after = _after(term.lines(), "> /test sh slow_check.sh")
        assert after.count("stopped") == 1, term.text()
        assert "interrupted" not in term.text(), term.text()
        _no_spinner_left(after)
        term.command("/files", "no files attached")  # the chat is still there
        term.exit_with_ctrl_d()
    finally:
        term.child.close(force=True)
