"""State shared by the tools during one session: the sandbox, what the model has
read, the approval policy, the undo journal, and (in a dry run) the changes that
would have been made.

Every change goes through `ToolContext.commit_change`, the one place that asks for
approval, re-checks the file on disk, journals the old bytes and writes atomically.
The re-check, the journal entry and the write happen together under a lock on the
file's directory, reached through the sandbox's symlink-free walk, so neither a
racing process nor a directory swapped during the approval prompt can make an edit
land elsewhere or overwrite a change it never saw."""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.tools.approval import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    Approver,
    FixedApprover,
)
from assistant.tools.journal import UndoJournal, sha256
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.sandbox import (
    Resolved,
    Sandbox,
    TextFormat,
    atomic_write,
    decode_text,
    is_protected,
    show_controls,
)


@dataclass(frozen=True)
class LoadedText:
    resolved: Resolved
    data: bytes
    text: str
    fmt: TextFormat


def unified_diff(rel: str, before: str, after: str, *, created: bool = False) -> str:
    """A unified diff of two texts, labelled git-style; '' when they are equal.

    It is for people (the approval prompt, the printed diff), so control characters
    are made visible: an escape sequence in the model's text cannot hide a line from
    the person approving it. The file itself gets the exact bytes."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile="/dev/null" if created else f"a/{rel}",
        tofile=f"b/{rel}",
        n=3,
    )
    out: list[str] = []
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return show_controls("".join(out))


def _decode_for_diff(data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        return decode_text(data, "")[0]
    except ToolError:
        return data.decode("utf-8", "replace")


class ToolContext:
    """Everything a tool function may use besides its own arguments."""

    def __init__(
        self,
        sandbox: Sandbox,
        journal: UndoJournal,
        policy: ApprovalPolicy,
        approver: Approver | None,
        *,
        dry_run: bool = False,
        allow_commands: bool = False,
        command_timeout: float = 60.0,
        state_path: Path | None = None,
        allow_protected: bool = False,
    ) -> None:
        self.sandbox = sandbox
        self.allow_protected = allow_protected
        self.journal = journal
        self.policy = policy
        self.approver = approver
        self.dry_run = dry_run
        self.allow_commands = allow_commands
        self.command_timeout = command_timeout
        self.state_path = state_path
        self.quit_requested = False
        # rel -> sha256 of the bytes the model last saw (read, or wrote itself)
        self.reads: dict[str, str] = {}
        # dry run: rel -> bytes after the pending changes / before the first one
        self.overlay: dict[str, bytes] = {}
        self.originals: dict[str, bytes | None] = {}
        self.reads.update(self._load_state())

    @property
    def root(self) -> Path:
        return self.sandbox.root

    # ------------------------------------------------------------ read state

    def _load_state(self) -> dict[str, str]:
        if self.state_path is None:
            return {}
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        reads = data.get("reads") if isinstance(data, dict) else None
        if not isinstance(reads, dict):
            return {}
        return {str(k): str(v) for k, v in reads.items()}

    @contextlib.contextmanager
    def _state_lock(self) -> Iterator[None]:
        """Concurrent `assistant tool` calls share one state file: update it under a
        lock, re-reading it first, so that no call drops another one's reads."""
        assert self.state_path is not None
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(
            self.state_path.with_name(self.state_path.name + ".lock"),
            os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
            0o600,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _persist(self, rel: str, digest: str | None) -> None:
        if self.state_path is None:
            return
        with contextlib.suppress(OSError), self._state_lock():
            reads = self._load_state()
            if digest is None:
                reads.pop(rel, None)
            else:
                reads[rel] = digest
            atomic_write(self.state_path, json.dumps({"reads": reads}).encode("utf-8"), 0o600)

    def mark_read(self, rel: str, data: bytes, *, persist: bool = True) -> None:
        """Remember what the model saw; dry-run results are not real, so not persisted."""
        self.reads[rel] = sha256(data)
        if persist:
            self._persist(rel, self.reads[rel])

    def forget(self, rel: str) -> None:
        if self.reads.pop(rel, None) is not None:
            self._persist(rel, None)

    def require_fresh(self, rel: str, data: bytes, action: str) -> None:
        """Refuse to change a file the model has not read, or that changed since."""
        seen = self.reads.get(rel)
        if seen is None:
            raise ToolError(
                f"you have not read {rel} in this session; call read_file on it before you "
                f"{action} it",
                rel,
            )
        if seen != sha256(data):
            raise ToolError(
                f"{rel} changed on disk since you last read it; call read_file again and "
                f"redo the {action} against the current text",
                rel,
            )

    # ------------------------------------------------------------ files

    def repo_files(self) -> list[str]:
        from assistant.repo.files import list_repo_files

        return list_repo_files(self.root)

    def current_bytes(self, resolved: Resolved) -> bytes | None:
        """The file as the model should see it (dry-run changes included), None if absent."""
        if resolved.rel in self.overlay:
            return self.overlay[resolved.rel]
        try:
            return self.sandbox.read_bytes(resolved)
        except ToolError as exc:
            if "no longer exists" in exc.message:
                return None
            raise

    def load_existing(self, path: object) -> LoadedText:
        """Resolve, read and decode a file that must exist."""
        resolved = self.sandbox.resolve(path)
        if resolved.rel not in self.overlay:
            files: list[str] | None = None
            if not resolved.abs.exists():
                with contextlib.suppress(Exception):
                    files = self.repo_files()
            resolved = self.sandbox.resolve_existing(path, files)
        data = self.current_bytes(resolved)
        if data is None:
            raise ToolError(
                f"{resolved.rel} no longer exists; use list_files to see the current files",
                resolved.rel,
            )
        text, fmt = decode_text(data, resolved.rel)
        return LoadedText(resolved, data, text, fmt)

    # ------------------------------------------------------------ changes

    def approve(self, request: ApprovalRequest, *, always_ask: bool = False) -> None:
        """Return when the change may go ahead; raise a refusal otherwise."""
        if self.policy is ApprovalPolicy.READ_ONLY:
            raise ToolError(
                f"{request.tool} is not available in read-only mode; describe the change "
                "to the user instead",
                request.path,
            )
        if request.protected:
            # A standing "yes" (auto-edit, --yes) does not cover these: a person must
            # see and approve this very change.
            blanket = self.approver is None or (
                isinstance(self.approver, FixedApprover) and not self.allow_protected
            )
            if blanket:
                raise ToolError(
                    f"{request.path} controls the assistant itself (its configuration, "
                    "instructions, ignore list or commit hooks), so a change to it needs "
                    "the user's approval of that very change; auto-edit and --yes do not "
                    "cover it. Nothing was changed: tell the user what you would change. "
                    "(The user can approve it in chat when asked, or run `assistant tool` "
                    "with --ask, or with --yes --allow-protected.)",
                    request.path,
                )
            always_ask = True
        if self.policy is ApprovalPolicy.AUTO_EDIT and not always_ask:
            return
        if self.approver is None:
            raise ToolError(
                f"{request.summary} needs the user's approval and nobody can approve it "
                "here; nothing was changed (a one-shot run applies changes only with --yes)",
                request.path,
            )
        decision = self.approver.approve(request)
        if decision is ApprovalDecision.ALWAYS:
            if not always_ask:
                self.policy = ApprovalPolicy.AUTO_EDIT
            return
        if decision is ApprovalDecision.YES:
            return
        if decision is ApprovalDecision.QUIT:
            self.quit_requested = True
            raise ToolError(
                "the user stopped the session; nothing was changed. Stop and wait for the user.",
                request.path,
            )
        raise ToolError(
            f"the user declined: {request.summary}; nothing was changed. Ask the user what "
            "they want instead, or try a different change.",
            request.path,
        )

    def commit_change(
        self,
        tool: str,
        resolved: Resolved,
        before: bytes | None,
        after: bytes,
        summary: str,
        model_text: str,
    ) -> ToolResult:
        """Approve, journal and write one change; the result carries its diff."""
        rel = resolved.rel
        diff = unified_diff(
            rel, _decode_for_diff(before), _decode_for_diff(after), created=before is None
        )
        if before is not None:
            # Counts, so that replacing 50 lines with 1 does not pass as "(1 line)".
            removed, added = _diff_counts(diff)
            counts = f"; -{removed} +{added} lines"
            if removed >= LARGE_DELETION and removed > 2 * added:
                counts += f"; deletes {removed} lines"
            summary += counts
            model_text = _first_line_plus(model_text, counts)
        protected = is_protected(rel)
        if protected:
            summary += " [changes the assistant's own configuration]"
        request = ApprovalRequest(
            tool=tool, summary=summary, path=rel, diff=diff, protected=protected
        )
        if before is not None and rel not in self.overlay:
            with contextlib.suppress(OSError):
                self._check_writable(rel, os.stat(resolved.abs))
        if self.dry_run:
            if self.policy is ApprovalPolicy.READ_ONLY:
                self.approve(request)
            self.originals.setdefault(rel, before)
            self.overlay[rel] = after
            self.mark_read(rel, after, persist=False)
            note = "\n(dry run: nothing was written)"
            if protected:
                note += (
                    f"\n(note: {rel} configures the assistant itself; applying it needs the "
                    "user's approval of this change, or --yes --allow-protected)"
                )
            # First line "would …", not "wrote …": the user reads it too.
            _, newline, details = model_text.partition("\n")
            text = f"ok: would {summary}{newline}{details}{note}"
            return ToolResult(True, text, diff=diff, path=rel)
        self.approve(request)
        # The user may have taken a while to answer, and another process may be editing
        # too: walk to the file again (no symlinks), lock its directory, and write only
        # if it still holds exactly what was diffed.
        with self.sandbox.open_place(resolved, create_parents=before is None) as place:
            try:
                on_disk = place.read()
                if on_disk != before:
                    raise ToolError(
                        f"{rel} changed on disk while the change was being prepared; call "
                        "read_file again and redo it",
                        rel,
                    )
                st = place.stat()
                mode: int | None = None
                if before is not None and st is not None:
                    self._check_writable(rel, st)
                    mode = stat.S_IMODE(st.st_mode)
                try:
                    entry = self.journal.record(tool, rel, before, after, mode, place.created)
                except OSError as exc:
                    raise ToolError(
                        f"could not record the change for undo ({exc.strerror}); nothing "
                        "was changed",
                        rel,
                    ) from None
                try:
                    place.write(after, mode)
                except OSError as exc:
                    self.journal.discard(entry)
                    raise ToolError(
                        f"could not write {rel} ({exc.strerror}); the file is unchanged", rel
                    ) from None
            except BaseException:
                for rel_dir in reversed(place.created):
                    self.sandbox.remove_dir(rel_dir)
                raise
        self.mark_read(rel, after)
        return ToolResult(True, model_text, diff=diff, path=rel)

    @staticmethod
    def _check_writable(rel: str, st: os.stat_result) -> None:
        """A file without the owner's write bit was made read-only on purpose."""
        if not st.st_mode & stat.S_IWUSR:
            raise ToolError(
                f"{rel} is read-only (mode {stat.S_IMODE(st.st_mode):04o}); nothing was "
                "changed. If it should change, the user can make it writable "
                f"(chmod u+w {rel}) first",
                rel,
            )

    def pending_diff(self) -> str:
        """Dry run: the combined diff of every change that would have been made."""
        parts: list[str] = []
        for rel in sorted(self.overlay):
            parts.append(
                unified_diff(
                    rel,
                    _decode_for_diff(self.originals.get(rel)),
                    _decode_for_diff(self.overlay[rel]),
                    created=self.originals.get(rel) is None,
                )
            )
        return "".join(parts)


LARGE_DELETION = 20  # removed lines worth flagging when far more than were added


def _diff_counts(diff: str) -> tuple[int, int]:
    """Removed and added lines of a unified diff (headers excluded)."""
    removed = added = 0
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            removed += 1
        elif line.startswith("+"):
            added += 1
    return removed, added


def _first_line_plus(text: str, extra: str) -> str:
    first, sep, rest = text.partition("\n")
    return first + extra + sep + rest
