"""What the model is told before the conversation: the system text and the
repository context.

Two parts, ordered by how often they change, so the prompt prefix that the
engine can restore from its disk cache is as long as possible:

- `system_text`: the shipped prompts plus the project's own instructions
  (AGENTS.md or .assistant/instructions.md). Goes into the system turn, with
  the tool declarations the protocol adds; it changes only when those files do.
- `repo_context`: the repository map and the git context. Goes at the head of
  the first user turn; it changes when code or git state does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant import prompts
from assistant.config import ConfinedReadError, read_repo_file
from assistant.repo import gitctx

INSTRUCTION_FILES = ("AGENTS.md", ".assistant/instructions.md")
MAX_INSTRUCTION_CHARS = 8_000
MAX_INSTRUCTION_BYTES = 1 << 20  # larger files are not read at all
GIT_DIFF_CHARS = 3000  # per diff; the model can ask git_diff for more


class Mode(enum.StrEnum):
    """Which task prompt follows the shared system prompt."""

    CHAT = "chat"
    ASK = "ask"
    EDIT = "edit"


def project_instructions(root: Path) -> str | None:
    """The repository's instructions for assistants, capped, or None."""
    for name in INSTRUCTION_FILES:
        # Confined like `read_file`: a symlink out of the repo, a device, a FIFO
        # or a huge file is never read into the prompt.
        try:
            data = read_repo_file(root, name, MAX_INSTRUCTION_BYTES)
        except ConfinedReadError:
            continue
        except OSError:
            continue
        if data is None:
            continue
        text = data.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        if len(text) > MAX_INSTRUCTION_CHARS:
            text = (
                text[:MAX_INSTRUCTION_CHARS]
                + f"\n[… {name} cut at {MAX_INSTRUCTION_CHARS} characters]"
            )
        return f"Project instructions from {name}:\n{text}"
    return None


def system_text(mode: str, root: Path, tools: Collection[str] = ()) -> str:
    """The system prompt: the common rules, the guide to the symbol tools when
    `tools` (the names offered) include them, the mode, the project's instructions."""
    parts = [prompts.load("system").strip()]
    if "outline" in tools:
        parts.append(prompts.load("symbols").strip())
    parts.append(prompts.load(mode).strip())
    instructions = project_instructions(root)
    if instructions:
        parts.append(instructions)
    return "\n\n".join(parts)


def git_context(root: Path) -> str:
    """Branch, recent commits, status and capped diffs (see `assistant.repo.gitctx`)."""
    context = gitctx.git_context(root, max_diff_chars=GIT_DIFF_CHARS)
    return context.render() if context is not None else "Git: not a git repository\n"


def repo_map_text(
    root: Path,
    budget_tokens: int,
    focus_files: Sequence[str] = (),
    count_tokens: Callable[[str], int] | None = None,
) -> str:
    """The ranked map of the repository's definitions within `budget_tokens`.

    No `mentions` on purpose: a map that depends on the question would differ
    on every command and defeat the disk prefix cache; the model searches for
    what it needs instead."""
    if budget_tokens <= 0:
        return ""
    from assistant.repo.repomap import RepoMap

    repo_map = RepoMap(root, count_tokens=count_tokens)
    try:
        return repo_map.build(budget_tokens, focus_files=list(focus_files)).text.strip()
    except Exception as exc:  # a broken cache or parser must not stop the assistant
        return f"(repository map unavailable: {type(exc).__name__})"
    finally:
        repo_map.close()


@dataclass(frozen=True)
class RepoContext:
    map_text: str
    git_text: str

    def render(self) -> str:
        body = self.map_text or "(no source files with definitions found)"
        return (
            "Repository map (the most referenced definitions; read files for details):\n"
            f"{body}\n\n{self.git_text}"
        )


def repo_context(
    root: Path,
    map_budget: int,
    focus_files: Sequence[str] = (),
    count_tokens: Callable[[str], int] | None = None,
) -> RepoContext:
    return RepoContext(
        repo_map_text(root, map_budget, focus_files, count_tokens), git_context(root)
    )
