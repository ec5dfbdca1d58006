"""The undo journal: every change the tools make, with the bytes it replaced.

One directory per session (under the platformdirs user data dir,
`assistant/sessions/<repo-hash>/<session-id>/`, or a directory given by the caller).
An entry is written *before* the change it describes, so a crash can leave an entry
for a change that never happened (undo then sees the old bytes and just drops it) but
never a change without an entry. Entry numbers are taken under a lock on the session
directory, so concurrent processes sharing a session never reuse one.

Undo reverts newest first and stops, before writing anything, at the first entry it
cannot trust: a file that changed since the tools wrote it (reverting over someone
else's edit would lose work), a saved copy whose hash is not the one recorded, or an
entry that cannot be parsed. It never skips an entry silently."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from assistant.tools.result import ToolError
from assistant.tools.sandbox import Place, Sandbox, atomic_write

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
    # Entries written together by one multi-file change (`assistant rename`) share a
    # group id; undo reverts a group as one change. "" for a single-file change.
    group: str = ""


def _refusal(entry: JournalEntry, why: str) -> UndoOutcome:
    return UndoOutcome(entry.path, entry.tool, False, f"error: {entry.path}: {why}")


@dataclass(frozen=True)
class DamagedEntry:
    """A journal file that cannot be trusted; undo refuses to go past it."""

    seq: int
    file: Path
    why: str


_ENTRY_NAME = re.compile(r"^(\d{8,})\.json$")
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,),
    "tool": (str,),
    "path": (str,),
    "existed": (bool,),
    "before_sha256": (str, type(None)),
    "after_sha256": (str,),
    "mode": (int, type(None)),
    "created_dirs": (list,),
    "time": (int, float),
    "group": (str,),
}
_OPTIONAL_FIELDS = {"group": ""}  # absent from entries written before the field existed


def _parse_entry(seq: int, raw: bytes) -> JournalEntry:
    """A journal entry, or ValueError saying what is wrong with it."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name, default in _OPTIONAL_FIELDS.items():
        data.setdefault(name, default)
    for name, types in _FIELD_TYPES.items():
        value = data.get(name)
        if (
            name not in data
            or not isinstance(value, types)
            or (isinstance(value, bool) and bool not in types)
        ):
            raise ValueError(f"field {name!r} is missing or has the wrong type")
    if data["seq"] != seq:
        raise ValueError(f"it says it is entry {data['seq']}")
    if data["existed"] != (data["before_sha256"] is not None):
        raise ValueError("'existed' and 'before_sha256' disagree")
    if not all(isinstance(d, str) for d in data["created_dirs"]):
        raise ValueError("field 'created_dirs' has the wrong type")
    unknown = set(data) - set(_FIELD_TYPES)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    return JournalEntry(**data)


def _last_changes(
    scanned: list[JournalEntry | DamagedEntry], n: int
) -> list[JournalEntry | DamagedEntry]:
    """The entries of the last `n` changes: a run of entries sharing a group is one."""
    start = len(scanned)
    for _ in range(n):
        if start == 0:
            break
        start -= 1
        last = scanned[start]
        group = last.group if isinstance(last, JournalEntry) else ""
        while group and start > 0:
            prev = scanned[start - 1]
            if not (isinstance(prev, JournalEntry) and prev.group == group):
                break
            start -= 1
    return scanned[start:]


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
        self._sandbox: Sandbox | None = None

    @property
    def sandbox(self) -> Sandbox:
        """Undo writes through the same confinement as the tools (secrets allowed: the
        tools only wrote them if the user allowed it; git dirs never)."""
        if self._sandbox is None:
            self._sandbox = Sandbox(self.root, allow_secrets=True)
        return self._sandbox

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

    def _scan(self) -> list[JournalEntry | DamagedEntry]:
        """Every entry file, oldest first, parsed or marked damaged."""
        out: list[JournalEntry | DamagedEntry] = []
        try:
            names = sorted(self._entries_dir.iterdir(), key=lambda p: p.name)
        except OSError:
            return out
        for path in names:
            match = _ENTRY_NAME.match(path.name)
            if match is None:
                continue
            seq = int(match.group(1))
            try:
                out.append(_parse_entry(seq, path.read_bytes()))
            except (OSError, ValueError) as exc:
                out.append(DamagedEntry(seq, path, str(exc)))
        out.sort(key=lambda e: e.seq)
        return out

    def entries(self) -> list[JournalEntry]:
        """Entries that parse, oldest first (undo also sees the damaged ones)."""
        return [e for e in self._scan() if isinstance(e, JournalEntry)]

    def __len__(self) -> int:
        return len(self._scan())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on this session's journal (a lock file beside the entries)."""
        self._entries_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def record(
        self,
        tool: str,
        path: str,
        before: bytes | None,
        after: bytes,
        mode: int | None,
        created_dirs: list[str] | None = None,
        group: str = "",
    ) -> JournalEntry:
        """Persist an entry (and the previous bytes) before the change is made."""
        with self._locked():
            existing = self._scan()
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
                group=group,
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

    def undo(self, n: int = 1) -> list[UndoOutcome]:
        """Revert the last `n` changes, newest first, stopping at the first refusal.
        The entries of one group (a multi-file rename) count as one change."""
        outcomes: list[UndoOutcome] = []
        if n <= 0:
            return outcomes
        with self._locked():
            newest = _last_changes(self._scan(), n)
        for entry in reversed(newest):
            outcome = (
                self._refuse_damaged(entry)
                if isinstance(entry, DamagedEntry)
                else self._undo_one(entry)
            )
            outcomes.append(outcome)
            if not outcome.reverted:
                break
        return outcomes

    def new_group(self) -> str:
        """An id for the entries of one multi-file change."""
        return secrets.token_hex(6)

    @staticmethod
    def _refuse_damaged(entry: DamagedEntry) -> UndoOutcome:
        return UndoOutcome(
            entry.file.name,
            "?",
            False,
            f"error: journal entry {entry.file} is damaged ({entry.why}); undo stops here "
            "and changed nothing. Check the file it was about by hand (git diff), then "
            "delete this entry to undo older changes",
        )

    def _undo_one(self, entry: JournalEntry) -> UndoOutcome:
        def refuse(why: str) -> UndoOutcome:
            return _refusal(entry, why)

        sandbox = self.sandbox
        try:
            resolved = sandbox.resolve(entry.path)
        except ToolError as exc:
            return refuse(f"the journal names a path the tools may not touch ({exc.message})")
        if resolved.rel != PurePosixPath(entry.path).as_posix():
            return refuse(f"the path now leads to {resolved.rel} (a symlink changed); not reverted")
        try:
            # Locks in the same order as a change (file's directory, then journal), so an
            # undo and an edit in two processes cannot wait on each other forever.
            with sandbox.open_place(resolved) as place, self._locked():
                if not (self._entries_dir / f"{entry.seq:08d}.json").exists():
                    return _refusal(entry, "another process undid this change meanwhile")
                return self._revert_at(entry, place)
        except ToolError as exc:
            if "no longer exists" in exc.message and entry.existed:
                return refuse(
                    f"was deleted since {entry.tool} wrote it; not reverted (undo stops "
                    "here so that later work is not lost; revert it by hand or with git)"
                )
            if "no longer exists" in exc.message:
                self._drop(entry)  # created, then removed with its directory: as before
                return UndoOutcome(
                    entry.path, entry.tool, True, f"{entry.path}: already as before {entry.tool}"
                )
            return refuse(f"{exc.message}; not reverted")

    def _revert_at(self, entry: JournalEntry, place: Place) -> UndoOutcome:
        """Revert one entry in its locked directory, after checking every hash."""

        def refuse(why: str) -> UndoOutcome:
            return _refusal(entry, why)

        try:
            current = place.read()
        except ToolError as exc:
            return refuse(f"{exc.message}; not reverted")
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
                saved = self._entries_dir / f"{entry.seq:08d}.before"
                before = saved.read_bytes()
                if sha256(before) != entry.before_sha256:
                    return refuse(
                        f"the saved copy {saved} is damaged (its hash is not the one "
                        "recorded); not reverted, the file is unchanged"
                    )
                place.write(before, entry.mode)
            else:
                place.unlink()
                for rel_dir in reversed(entry.created_dirs):
                    self.sandbox.remove_dir(rel_dir)
        except OSError as exc:
            return refuse(f"could not restore it ({exc.strerror}); not reverted")
        self._drop(entry)
        verb = "deleted (it was created by" if not entry.existed else "restored (undid"
        return UndoOutcome(entry.path, entry.tool, True, f"{entry.path}: {verb} {entry.tool})")

    def discard(self, entry: JournalEntry) -> None:
        """Forget an entry whose change was never made (the write failed)."""
        self._drop(entry)
