"""The undo journal: every change the tools make, with the bytes it replaced.

One directory per session (under the platformdirs user data dir,
`assistant/sessions/<repo-hash>/<session-id>/`, or a directory given by the caller).
An entry is written *before* the change it describes, so a crash can leave an entry
for a change that never happened (undo then sees the old bytes and just drops it) but
never a change without an entry. Undo reverts newest first and stops at the first
file that changed since the tools wrote it: reverting over someone else's edit would
lose work."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.tools.sandbox import atomic_write

ENTRY_DIR = "entries"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def repo_key(root: Path) -> str:
    """Stable directory name for a repository: a hash of its resolved path."""
    return sha256(os.path.realpath(root).encode("utf-8", "surrogateescape"))[:16]


def default_base_dir() -> Path:
    """`<user data dir>/sessions` (ASSISTANT_DATA_DIR overrides the data dir)."""
    from assistant.config import user_data_dir

    return user_data_dir() / "sessions"


def new_session_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    tool: str
    path: str  # posix, relative to the repository root
    existed: bool  # False: the change created the file
    before_sha256: str | None
    after_sha256: str
    mode: int | None  # permission bits of the file before the change
    created_dirs: list[str] = field(default_factory=list)  # made for a new file, outermost first
    time: float = 0.0


@dataclass(frozen=True)
class UndoOutcome:
    path: str
    tool: str
    reverted: bool
    message: str  # one line; starts with "error:" when not reverted


class UndoJournal:
    """Records changes under `directory` and reverts them in `root`."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self.directory = Path(directory)

    # ------------------------------------------------------------ construction

    @staticmethod
    def sessions_dir(root: Path, base_dir: Path | None = None) -> Path:
        return (base_dir or default_base_dir()) / repo_key(root)

    @classmethod
    def for_session(
        cls, root: Path, session_id: str | None = None, base_dir: Path | None = None
    ) -> UndoJournal:
        """The journal of one session (a new session id when none is given)."""
        return cls(root, cls.sessions_dir(root, base_dir) / (session_id or new_session_id()))

    @classmethod
    def latest(cls, root: Path, base_dir: Path | None = None) -> UndoJournal | None:
        """The session of this repository whose newest change is the most recent."""
        best: tuple[int, Path] | None = None
        sessions = cls.sessions_dir(root, base_dir)
        if not sessions.is_dir():
            return None
        for session in sessions.iterdir():
            names = sorted((session / ENTRY_DIR).glob("*.json"))
            if not names:
                continue
            with contextlib.suppress(OSError):
                stamp = names[-1].stat().st_mtime_ns
                if best is None or stamp > best[0]:
                    best = (stamp, session)
        return None if best is None else cls(root, best[1])

    # ------------------------------------------------------------ recording

    @property
    def _entries_dir(self) -> Path:
        return self.directory / ENTRY_DIR

    def entries(self) -> list[JournalEntry]:
        """Entries still undoable, oldest first."""
        out: list[JournalEntry] = []
        if not self._entries_dir.is_dir():
            return out
        for name in sorted(self._entries_dir.glob("*.json")):
            try:
                data = json.loads(name.read_text(encoding="utf-8"))
                out.append(JournalEntry(**data))
            except (OSError, ValueError, TypeError):
                continue
        return out

    def __len__(self) -> int:
        return len(self.entries())

    def record(
        self,
        tool: str,
        path: str,
        before: bytes | None,
        after: bytes,
        mode: int | None,
        created_dirs: list[str] | None = None,
    ) -> JournalEntry:
        """Persist an entry (and the previous bytes) before the change is made."""
        self._entries_dir.mkdir(parents=True, exist_ok=True)
        existing = self.entries()
        seq = (existing[-1].seq if existing else 0) + 1
        entry = JournalEntry(
            seq=seq,
            tool=tool,
            path=path,
            existed=before is not None,
            before_sha256=None if before is None else sha256(before),
            after_sha256=sha256(after),
            mode=mode,
            created_dirs=list(created_dirs or []),
            time=time.time(),
        )
        if before is not None:
            atomic_write(self._entries_dir / f"{seq:08d}.before", before, 0o600)
        atomic_write(
            self._entries_dir / f"{seq:08d}.json",
            json.dumps(asdict(entry), indent=1).encode("utf-8"),
            0o600,
        )
        return entry

    def _drop(self, entry: JournalEntry) -> None:
        for suffix in (".json", ".before"):
            with contextlib.suppress(FileNotFoundError):
                (self._entries_dir / f"{entry.seq:08d}{suffix}").unlink()

    # ------------------------------------------------------------ undo

    def _target(self, rel: str) -> Path | None:
        real = os.path.realpath(self.root / rel)
        root = str(self.root)
        if not real.startswith(root.rstrip(os.sep) + os.sep):
            return None
        return Path(real)

    def undo(self, n: int = 1) -> list[UndoOutcome]:
        """Revert the last `n` changes, newest first, stopping at the first refusal."""
        outcomes: list[UndoOutcome] = []
        for entry in reversed(self.entries()[-n:] if n > 0 else []):
            outcome = self._undo_one(entry)
            outcomes.append(outcome)
            if not outcome.reverted:
                break
        return outcomes

    def _undo_one(self, entry: JournalEntry) -> UndoOutcome:
        def refuse(why: str) -> UndoOutcome:
            return UndoOutcome(entry.path, entry.tool, False, f"error: {entry.path}: {why}")

        target = self._target(entry.path)
        if target is None:
            return refuse("journal path is outside the repository; not reverted")
        try:
            current: bytes | None = target.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError as exc:
            return refuse(f"cannot read it ({exc.strerror}); not reverted")
        current_sha = None if current is None else sha256(current)
        if current_sha == entry.before_sha256:
            # The change never landed (crash between journal and write) or was reverted.
            self._drop(entry)
            return UndoOutcome(
                entry.path, entry.tool, True, f"{entry.path}: already as before {entry.tool}"
            )
        if current_sha != entry.after_sha256:
            what = "was deleted" if current is None else "changed"
            return refuse(
                f"{what} since {entry.tool} wrote it; not reverted (undo stops here so "
                "that later work is not lost; revert it by hand or with git)"
            )
        try:
            if entry.existed:
                before = (self._entries_dir / f"{entry.seq:08d}.before").read_bytes()
                atomic_write(target, before, entry.mode)
            else:
                target.unlink()
                for rel_dir in reversed(entry.created_dirs):
                    with contextlib.suppress(OSError):
                        (self.root / rel_dir).rmdir()
        except OSError as exc:
            return refuse(f"could not restore it ({exc.strerror}); not reverted")
        self._drop(entry)
        verb = "deleted (it was created by" if not entry.existed else "restored (undid"
        return UndoOutcome(entry.path, entry.tool, True, f"{entry.path}: {verb} {entry.tool})")

    def discard(self, entry: JournalEntry) -> None:
        """Forget an entry whose change was never made (the write failed)."""
        self._drop(entry)
