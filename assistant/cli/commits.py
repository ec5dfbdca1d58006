"""`edit --commit`: a clean commit message from what the model wrote, and
`undo` of such a commit while it is still HEAD and unpushed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.repo.git import GitResult, run_git
from assistant.terminal import printable

COMMIT_FILE = "commit.json"  # in the edit session's journal directory
SUBJECT_MAX = 72
BODY_MAX_LINES = 10

_PREAMBLE = re.compile(
    r"^(sure|okay|ok|certainly|here(’|')?s|here is|below is|the commit message|commit message)\b",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^(subject|summary|title|body|commit message)\s*:\s*", re.IGNORECASE)


def _shorten(line: str, limit: int = SUBJECT_MAX) -> str:
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return (cut or line[:limit]).rstrip(" ,;:-")


def fallback_message(instruction: str) -> str:
    """A subject built from the user's instruction, when the model's is unusable."""
    first = next((ln.strip() for ln in instruction.splitlines() if ln.strip()), "Edit")
    first = first.rstrip(".")
    return _shorten(first[:1].upper() + first[1:])


def clean_commit_message(raw: str, instruction: str, *, cut: bool = False) -> str:
    """Subject line (≤ 72 chars, no trailing period) and an optional body, from
    model output that may have a preamble, code fences, quotes, labels or (when
    `cut`, i.e. generation hit its token limit) a last line cut mid-way."""
    # `git log` prints the message as it is: an escape sequence in it would
    # drive the terminal of everyone who reads the history.
    lines = [printable(ln).rstrip() for ln in raw.strip().splitlines()]
    cut_subject = cut and len(lines) == 1
    if cut and len(lines) > 1:
        lines = lines[:-1]  # the unfinished line
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            continue
        if not kept and (not stripped or (_PREAMBLE.match(stripped) and stripped.endswith(":"))):
            continue
        kept.append(stripped)
    if not kept:
        return fallback_message(instruction)
    subject = _LABEL.sub("", kept[0]).strip().strip("\"'`").lstrip("#*- ").strip()
    subject = subject.rstrip(".")
    if not subject or cut_subject:
        return fallback_message(instruction)
    body = [_LABEL.sub("", ln).strip("\"'`") for ln in kept[1:]]
    while body and not body[0]:
        body.pop(0)
    while body and not body[-1]:
        body.pop()
    message = _shorten(subject)
    if body:
        message += "\n\n" + "\n".join(body[:BODY_MAX_LINES])
    return message


# ---------------------------------------------------------------- undo


@dataclass(frozen=True)
class CommitRecord:
    sha: str  # full
    files: tuple[str, ...]

    def save(self, directory: Path) -> None:
        (directory / COMMIT_FILE).write_text(
            json.dumps({"sha": self.sha, "files": list(self.files)}), "utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> CommitRecord | None:
        try:
            data = json.loads((directory / COMMIT_FILE).read_text("utf-8"))
            return cls(str(data["sha"]), tuple(str(f) for f in data["files"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _git(root: Path, *args: str) -> GitResult:
    return run_git(root, *args)


def undo_commit(root: Path, directory: Path) -> tuple[bool, str] | None:
    """After every change of an `edit --commit` run was reverted: drop its
    commit when it is still HEAD and on no remote branch. (done, message), or
    None when the run made no commit."""
    record = CommitRecord.load(directory)
    if record is None:
        return None
    short = record.sha[:7]
    head = _git(root, "rev-parse", "HEAD").text.strip()
    if head != record.sha:
        return False, (
            f"commit {short} stays: it is no longer HEAD (revert it with `git revert {short}`)"
        )
    if _git(root, "branch", "-r", "--contains", record.sha).text.strip():
        return False, (f"commit {short} stays: it was pushed (revert it with `git revert {short}`)")
    if _git(root, "rev-parse", "--verify", "-q", f"{record.sha}^").returncode != 0:
        return False, f"commit {short} stays: it is the first commit of the repository"
    # --soft keeps anything else the user had staged; then the committed
    # files' index entries go back to the parent, matching the reverted tree.
    reset = _git(root, "reset", "-q", "--soft", "HEAD~1")
    if reset.returncode != 0:
        return False, f"commit {short} stays: git reset failed: {reset.error}"
    _git(root, "reset", "-q", "HEAD", "--", *record.files)
    (directory / COMMIT_FILE).unlink(missing_ok=True)
    return True, f"undid commit {short} too (it was HEAD and not pushed)"
