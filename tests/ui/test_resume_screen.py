"""`assistant chat --resume` and `/tokens` on a real pty, 120 columns wide, with
real inference (SmolLM2, one thread, temperature 0) in a real git repository
(issue 21, items 3 and 9). The screen is emulated by pyte with scrollback.

Before: the resumed chat showed the attachment wrapper the model reads
(`Files the user attached (already read): … 1| def add…`) as the user's
message and the answer as raw text (backticks), not as the live view drew it;
`/tokens` wrapped "0 compaction(s)" at 120 columns."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from tests.agent.conftest import clean_env, make_repo

pyte = pytest.importorskip("pyte")

ROWS, COLS = 40, 120
WAIT = 180
PROMPT_RE = r"\r\n(\x1b\[\?25h)?> "  # after a Live region, the cursor is shown again first
QUESTION = "What does add do? Answer with a short Python code block."
FILES = {"calc/__init__.py": "", "calc/ops.py": "def add(a, b):\n    return a + b\n"}


class Screen:
    """One `assistant chat` on a pty feeding a pyte screen with scrollback."""

    def __init__(self, repo: Path, model: Path, *extra: str) -> None:
        env = {**clean_env(), "TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS)}
        args = ["-m", "assistant", "chat", "--model", str(model), "--threads", "1"]
        args += ["--temperature", "0", "--ctx", "4096", "--max-tokens", "200", *extra]
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

    def expect(self, pattern: str | type[pexpect.EOF]) -> None:
        self.child.expect(pattern)
        data = self.raw.getvalue()
        self.stream.feed(data[self.fed :])
        self.fed = len(data)

    def lines(self) -> list[str]:
        history = [
            "".join(row[x].data for x in range(COLS)).rstrip() for row in self.screen.history.top
        ]
        return history + [line.rstrip() for line in self.screen.display]

    def send(self, line: str, until: str) -> None:
        self.child.sendline(line)
        self.expect(until)
        self.expect(PROMPT_RE)

    def quit(self) -> None:
        self.child.sendeof()
        self.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus == 0, "\n".join(self.lines())
        assert "Traceback" not in self.raw.getvalue()


def _until(lines: list[str], start: int, stop: Callable[[str], bool]) -> list[str]:
    """The non-blank lines after index `start`, up to the first `stop` line."""
    out: list[str] = []
    for line in lines[start + 1 :]:
        if stop(line):
            break
        if line.strip():
            out.append(line)
    return out


def test_resume_shows_what_the_user_typed_rendered_as_live(
    tmp_path: Path, smollm2_path: Path
) -> None:
    repo = make_repo(tmp_path / "calc", FILES)
    live = Screen(repo, smollm2_path)
    live.expect("/help for commands")
    live.expect(PROMPT_RE)

    # (9) /tokens at 120 columns: no line of it wraps.
    live.send("/tokens", "compaction")
    lines = live.lines()
    assert any(line.strip() == "0 compactions" for line in lines), "\n".join(lines)
    assert not any(line.startswith("n(s)") or line.startswith("s)") for line in lines)

    live.send("/add calc/ops.py", "attached to your next message")
    live.child.sendline(QUESTION)
    live.expect(r" steps?")  # the footer
    live.expect(PROMPT_RE)
    lines = live.lines()
    asked = max(i for i, line in enumerate(lines) if line.endswith(QUESTION))
    body = _until(lines, asked, lambda line: " tokens · " in line)  # up to the footer
    live.quit()
    assert body, "\n".join(lines)

    resumed = Screen(repo, smollm2_path, "--resume")
    resumed.expect("/help for commands")
    resumed.expect("last exchange:")
    resumed.expect(re.escape(QUESTION))  # the recap's "> QUESTION" line, not the prompt
    resumed.expect(PROMPT_RE)
    lines = resumed.lines()
    text = "\n".join(lines)
    resumed.quit()

    # (3) What the user typed and the attached file's name; not the wrapper.
    assert "Files the user attached" not in text and "| def add" not in text, text
    at = lines.index("last exchange:")
    assert lines[at + 1] == f"> {QUESTION}"
    assert lines[at + 2] == "[attached: calc/ops.py]"
    # The answer drawn as the live view drew it: same Markdown rendering, same
    # width (the recap may end early: it is cut at 600 characters).
    shown = _until(lines, at + 2, lambda line: line.startswith("> "))
    # The recap's cut line ends in "…": compare the lines before it.
    shown = shown[: next((i for i, line in enumerate(shown) if line.endswith("…")), len(shown))]
    common = min(len(shown), len(body)) - 1
    assert common >= 1, (shown, body)
    assert shown[:common] == body[:common], "\n".join(["LIVE:", *body, "RESUMED:", *shown])
