"""Streaming Markdown with CJK, Indic scripts and emoji on a real pty: the final
screen (emulated by pyte) shows every line once, with no stale copies left by
live redraws. The renderer is fed scripted text (the small test models do not
write Hindi or emoji on demand); the terminal, the pty and Rich are real."""

from __future__ import annotations

import io
import os
import sys

import pexpect
import pytest

pyte = pytest.importorskip("pyte")

ROWS, COLS = 40, 60
PARAGRAPHS = [
    "P1 " + "日本語の説明です。この関数はタスクを保存して、次に読み込みます。" * 2,
    "P2 " + "यह फ़ंक्शन कार्यों को सहेजता है और फिर उन्हें पढ़ता है। क्षत्रिय ज्ञान " * 2,
    "P3 " + "Done 🎉 ✅ 👍🏽 👨‍👩‍👧 ☀ ❤ 🇯🇵 tasks saved " * 3,
    "P4 plain English closes the answer.",
]

ANSWER = "\n\n".join(PARAGRAPHS)
DRIVER = f"""
import time
from rich.console import Console
from assistant.events import TextDelta
from assistant.ui.render import RichRenderer
renderer = RichRenderer(Console(highlight=False))
answer = {ANSWER!r}
for i in range(0, len(answer), 3):
    renderer(TextDelta(answer[i:i + 3]))
    time.sleep(0.004)
renderer.close()
print("END-OF-ANSWER")
"""


def test_wide_characters_leave_no_stacked_copies() -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-c", DRIVER],
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS)},
        dimensions=(ROWS, COLS),
        encoding="utf-8",
        timeout=120,
    )
    output = io.StringIO()
    child.logfile_read = output
    child.expect("END-OF-ANSWER")
    child.expect(pexpect.EOF)
    screen = pyte.Screen(COLS, ROWS)
    pyte.Stream(screen).feed(output.getvalue())
    text = "\n".join(line.rstrip() for line in screen.display)
    for marker in ("P1", "P2", "P3", "P4"):
        assert text.count(marker) == 1, text
