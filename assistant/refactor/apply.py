"""Writing a rename: every file through the tools' sandbox (resolved inside the
root, never in a git directory, walked without following symlinks, locked,
re-checked against the bytes the plan was made from), journalled before it is
written, all files under one journal group so that one `undo` reverts them all.
If any write fails, the files already written are put back."""

from __future__ import annotations

import stat
from dataclasses import dataclass

from assistant.refactor.errors import RenameWriteFailed
from assistant.refactor.rename import FileChange, RenamePlan
from assistant.tools.journal import JournalEntry, UndoJournal
from assistant.tools.result import ToolError
from assistant.tools.sandbox import Sandbox

TOOL = "rename"


@dataclass(frozen=True)
class Written:
    change: FileChange
    entry: JournalEntry
    mode: int | None


def apply_plan(plan: RenamePlan, journal: UndoJournal) -> list[str]:
    """Write every file of the plan; the paths written. Raises RenameWriteFailed
    (with the files already written restored) when any file cannot be written."""
    sandbox = Sandbox(journal.root, allow_secrets=True)
    group = journal.new_group()
    done: list[Written] = []
    try:
        for change in plan.changes:
            done.append(_write(sandbox, journal, change, group))
    except (ToolError, OSError) as exc:
        why = exc.message if isinstance(exc, ToolError) else str(exc.strerror)
        restored = _restore(sandbox, journal, done)
        raise RenameWriteFailed(
            f"could not write {change.rel} ({why}); "
            + (
                f"restored the {restored} file(s) already written"
                if done
                else "nothing was changed"
            )
        ) from None
    finally:
        sandbox.close()
    return [w.change.rel for w in done]


def _write(sandbox: Sandbox, journal: UndoJournal, change: FileChange, group: str) -> Written:
    resolved = sandbox.resolve(change.rel)
    with sandbox.open_place(resolved) as place:
        on_disk = place.read()
        if on_disk != change.before:
            raise ToolError(f"{change.rel} changed on disk while the rename was being prepared")
        st = place.stat()
        mode = None if st is None else stat.S_IMODE(st.st_mode)
        if st is not None and not st.st_mode & stat.S_IWUSR:
            raise ToolError(f"{change.rel} is read-only (mode {mode:04o})")
        entry = journal.record(TOOL, change.rel, change.before, change.after, mode, group=group)
        try:
            place.write(change.after, mode)
        except OSError:
            journal.discard(entry)
            raise
    return Written(change, entry, mode)


def _restore(sandbox: Sandbox, journal: UndoJournal, done: list[Written]) -> int:
    restored = 0
    for written in reversed(done):
        try:
            resolved = sandbox.resolve(written.change.rel)
            with sandbox.open_place(resolved) as place:
                if place.read() == written.change.after:
                    place.write(written.change.before, written.mode)
            journal.discard(written.entry)
            restored += 1
        except (ToolError, OSError):
            continue
    return restored


__all__ = ["TOOL", "apply_plan"]
