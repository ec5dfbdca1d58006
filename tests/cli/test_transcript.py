"""`/save FILE.md` writes real Markdown and `--resume` shows the last exchange;
tool status lines are short human lines (issue 15)."""

from __future__ import annotations

from assistant.agent.session import Kind, Segment
from assistant.cli.chat import resume_recap
from assistant.cli.transcript import (
    Recap,
    attached_block,
    last_exchange,
    markdown_transcript,
    split_attached,
)
from assistant.events import ToolFinished
from assistant.protocols.base import ToolResult
from assistant.ui.render import outcome_line

SEGMENTS = [
    Segment(Kind.USER, [], 1, text="What does greet do?"),
    Segment(Kind.MODEL, [], 1, text=""),
    Segment(
        Kind.TOOLS, [], 1, results=[ToolResult.reply("read_file", "hello.py\n1| x = ```y```\n")]
    ),
    Segment(Kind.MODEL, [], 1, text="It returns a **greeting**."),
    Segment(Kind.USER, [], 2, text="Thanks"),
    Segment(Kind.MODEL, [], 2, text="You're welcome."),
]


def test_markdown_transcript_has_headings_and_fenced_tool_output() -> None:
    text = markdown_transcript(SEGMENTS, "model.gguf", "/repo")
    assert text.startswith("# Chat in /repo\n")
    assert "## Turn 1" in text and "## Turn 2" in text
    assert "### You\n\nWhat does greet do?" in text
    assert "### Assistant\n\nIt returns a **greeting**." in text
    # The tool output contains ``` so the fence is longer than that.
    assert "#### Tool `read_file`\n\n````\nhello.py\n1| x = ```y```\n````" in text
    assert "User:" not in text and "Assistant:" not in text


def test_resume_shows_the_last_exchange() -> None:
    assert last_exchange(SEGMENTS) == ("Thanks", "You're welcome.")
    assert last_exchange([]) is None
    recap = resume_recap(SEGMENTS)
    assert recap == Recap("Thanks", (), "You're welcome.")


def test_attachments_are_shown_as_names_not_contents() -> None:
    """Issue 21 (3): the resumed chat and the saved transcript show what the
    user typed and `[attached: …]`, not the wrapper the model reads."""
    block = attached_block(["calc/ops.py\n   1| def add(a, b):\n\n   3| x = 1"], ["calc/ops.py"])
    message = f"{block}\n\nWhat does add do?\n\nBe brief."
    assert split_attached(message) == ("What does add do?\n\nBe brief.", ["calc/ops.py"])
    assert split_attached("plain question") == ("plain question", [])
    segments = [
        Segment(Kind.USER, [], 1, text=message),
        Segment(Kind.MODEL, [], 1, text="It adds."),
    ]
    recap = resume_recap(segments)
    assert recap == Recap("What does add do?\n\nBe brief.", ("calc/ops.py",), "It adds.")
    text = markdown_transcript(segments, "m.gguf", "/r")
    assert "def add" not in text and "[attached: calc/ops.py]" in text


def test_tool_status_is_a_short_human_line() -> None:
    declined = ToolFinished(
        "write_file",
        {"path": "a.py"},
        False,
        "error: the user declined: overwrite a.py (3 lines); nothing was changed. Ask the user "
        "what they want instead, or try a different change.",
    )
    line = outcome_line(declined, 200)
    assert "Ask the user" not in line and line.endswith("nothing was changed")
    short = outcome_line(declined, 30)
    assert len(short) == 30 and short.endswith("…")
