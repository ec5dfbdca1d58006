"""`assistant chat` in a real terminal (a pty, via pexpect) with SmolLM2: a
question with streamed output, an edit, /undo, Ctrl-C mid-answer, /exit; the
session is saved and `--resume` continues it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect

from tests.agent.conftest import clean_env, git

PROMPT = "\n> "


def spawn(repo: Path, model: Path, *extra: str) -> pexpect.spawn:
    env = clean_env()
    env["TERM"] = "xterm-256color"
    env.pop("COLUMNS")  # Rich asks the pty (120 columns), as in a real terminal
    args = ["-m", "assistant", "chat", "--model", str(model), "--ctx", "4096"]
    args += ["--temperature", "0", "--approval", "auto-edit", *extra]
    child = pexpect.spawn(
        sys.executable,
        args,
        cwd=str(repo),
        env=env,
        encoding="utf-8",
        dimensions=(40, 120),
        timeout=240,
    )
    child.expect(r"Ctrl-D to\s+quit")  # the banner wraps at 120 columns with a long path
    child.expect(PROMPT)
    return child


def test_chat_in_a_terminal(demo_repo: Path, smollm2_path: Path, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    child = spawn(
        demo_repo, smollm2_path, "--max-tokens", "64", "--max-steps", "3", "--trace", str(trace)
    )
    try:
        child.sendline("/help")
        child.expect("/undo")
        child.expect(PROMPT)

        # A question: the answer streams (Live updates), then the footer.
        child.sendline("What is this project?")
        child.expect("tokens · ")
        answer = child.before
        child.expect(PROMPT)
        assert "\x1b[" in answer  # a terminal: Rich styling and live updates
        assert len(answer.strip()) > 20

        # An edit on an attached file, shown as a diff, then undone.
        child.sendline("/add todo/__init__.py")
        child.expect("attached to your next message: todo/__init__.py")
        child.expect(PROMPT)
        child.sendline("/edit Set the version to 0.2.0")
        child.expect("todo/__init__.py")
        child.expect("tokens · ")
        child.expect(PROMPT)
        assert "todo/__init__.py" in git(demo_repo, "diff", "--stat")
        child.sendline("/undo")
        child.expect("restored")
        child.expect(PROMPT)
        assert git(demo_repo, "status", "--porcelain") == ""

        # Ctrl-C stops an answer and returns to the prompt; the session goes on.
        child.sendline("Write a very long essay about task trackers.")
        child.expect("reading")  # the spinner while the prompt is evaluated
        child.sendintr()
        child.expect("stopped")
        child.expect(PROMPT)
        child.sendline("/tokens")
        child.expect("tokens used")
        child.expect(PROMPT)

        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0

    # Every model call extended the previous prompt: the KV cache was re-used.
    calls = [json.loads(line) for line in trace.read_text().splitlines()]
    chat_calls = [c for c in calls if c["evaluated_tokens"] < c["prompt_tokens"]]
    assert len(chat_calls) >= 2


def test_resume_continues_the_last_session(demo_repo: Path, smollm2_path: Path) -> None:
    child = spawn(demo_repo, smollm2_path, "--max-tokens", "8")
    child.sendline("Hello")
    child.expect("tokens · ")
    child.expect(PROMPT)
    child.sendeof()  # Ctrl-D exits
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn(demo_repo, smollm2_path, "--max-tokens", "8", "--resume")
    try:
        assert "resumed 1 turn" in child.before
        child.sendline("/tokens")
        child.expect("your messages (\\d+)")
        assert int(child.match.group(1)) > 0
        child.expect(PROMPT)
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
