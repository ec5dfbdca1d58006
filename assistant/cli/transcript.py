"""A chat session as a reader sees it: the Markdown file `/save FILE.md`
writes, and the last exchange `chat --resume` shows."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

from assistant.agent.session import Kind, Segment


def _fence(text: str, info: str = "") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


def markdown_transcript(segments: Sequence[Segment], model: str, root: str) -> str:
    """Headings per turn; what the user and the model wrote as Markdown;
    tool calls' results fenced (file contents, listings, command output)."""
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [f"# Chat in {root}", "", f"Model `{model}` · saved {when}"]
    turn = 0
    for segment in segments:
        if segment.kind is Kind.USER:
            turn += 1
            parts += ["", f"## Turn {turn}", "", "### You", "", segment.text.strip()]
        elif segment.kind is Kind.MODEL and segment.text.strip():
            parts += ["", "### Assistant", "", segment.text.strip()]
        elif segment.kind is Kind.TOOLS:
            for result in segment.results:
                content = result.content
                text = content if isinstance(content, str) else json.dumps(content, indent=1)
                parts += ["", f"#### Tool `{result.name}`", "", _fence(text)]
    return "\n".join(parts) + "\n"


def last_exchange(segments: Sequence[Segment]) -> tuple[str, str] | None:
    """The last thing the user said and the model's last answer to it."""
    for index in range(len(segments) - 1, -1, -1):
        if segments[index].kind is Kind.USER:
            answers = [
                s.text.strip()
                for s in segments[index + 1 :]
                if s.kind is Kind.MODEL and s.text.strip()
            ]
            return segments[index].text.strip(), answers[-1] if answers else ""
    return None
