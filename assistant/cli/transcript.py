"""A chat session as a reader sees it: the Markdown file `/save FILE.md`
writes, and the last exchange `chat --resume` shows."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from assistant.agent.session import Kind, Segment

# How files the user names (`edit FILES`, `ask --files`, chat's `/add`) go to
# the model: at the head of the message, read, between these two lines. The
# closing line names the files, so a reader (`chat --resume`) can show what
# the user typed and `[attached: …]` instead of the files' contents.
ATTACHED_HEAD = "Files the user attached (already read):"
_ATTACHED_END = "(end of the attached files: {names})"
_END_RE = re.compile(r"\n\(end of the attached files: ([^\n]*)\)(?:\n\n|$)")


def attached_block(texts: Sequence[str], names: Sequence[str]) -> str:
    """The files as the model reads them, in the block `split_attached` undoes."""
    if not texts:
        return ""
    end = _ATTACHED_END.format(names=", ".join(names))
    return f"{ATTACHED_HEAD}\n" + "\n\n".join(texts) + f"\n{end}"


def split_attached(message: str) -> tuple[str, list[str]]:
    """What the user typed, and the names of the files attached to it."""
    start = message.find(ATTACHED_HEAD)
    if start < 0 or (start > 0 and not message[:start].endswith("\n\n")):
        return message, []
    ends = list(_END_RE.finditer(message, start))
    if not ends:
        # Saved before the block had a closing line: what the user typed is
        # the last paragraph (it always came last).
        return message.rsplit("\n\n", 1)[-1].strip(), ["(files)"]
    end = ends[-1]
    typed = (message[:start] + message[end.end() :]).strip()
    return typed, [n for n in end.group(1).split(", ") if n]


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
            typed, names = split_attached(segment.text.strip())
            parts += ["", f"## Turn {turn}", "", "### You", "", typed]
            if names:
                parts += ["", f"[attached: {', '.join(names)}]"]
        elif segment.kind is Kind.MODEL and segment.text.strip():
            parts += ["", "### Assistant", "", segment.text.strip()]
        elif segment.kind is Kind.TOOLS:
            for result in segment.results:
                content = result.content
                text = content if isinstance(content, str) else json.dumps(content, indent=1)
                parts += ["", f"#### Tool `{result.name}`", "", _fence(text)]
    return "\n".join(parts) + "\n"


class RecapRenderer(Protocol):
    def info(self, text: str) -> None: ...
    def markdown(self, text: str) -> None: ...


@dataclass(frozen=True)
class Recap:
    """The last exchange of a resumed chat, as the user saw it live."""

    question: str  # what the user typed
    attached: tuple[str, ...]  # files attached to it
    answer: str  # the model's last answer, Markdown

    def show(self, renderer: RecapRenderer, max_chars: int) -> None:
        from assistant.terminal import printable

        def cut(text: str) -> str:
            # A saved session is text from a file: shown, never obeyed (escapes).
            text = printable(text)
            return text if len(text) <= max_chars else text[: max_chars - 1] + "…"

        lines = ["last exchange:", "> " + cut(self.question).replace("\n", "\n> ")]
        if self.attached:
            lines.append(f"[attached: {', '.join(self.attached)}]")
        renderer.info("\n".join(lines))
        # Markdown, as the live answer was drawn (code blocks, emphasis).
        renderer.markdown(cut(self.answer) or "(no answer)")


def recap(segments: Sequence[Segment]) -> Recap | None:
    last = last_exchange(segments)
    if last is None:
        return None
    question, answer = last
    typed, names = split_attached(question)
    return Recap(typed, tuple(names), answer)


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
