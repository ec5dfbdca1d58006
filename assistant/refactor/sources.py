"""The files a rename reads: listed like the repo map lists them, read with the
checks the edit tools make (inside the root after resolving symlinks, a regular
file, not huge, not binary, UTF-8), each skip kept with a one-line reason."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from assistant.fsutil import looks_binary
from assistant.repo.files import RepoFilter, scan_repo_files
from assistant.repo.git import ls_files
from assistant.repo.languages import language_for

MAX_RENAME_BYTES = 2_000_000  # the edit tools' limit (tools/sandbox.py MAX_FILE_BYTES)
RENAME_LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "go", "rust"})


@dataclass(frozen=True)
class Skip:
    why: str
    # True: said whatever the file holds (it could not be looked into: too large, a
    # link out of the repository); False: said only when it holds the old name
    always: bool = False


@dataclass
class Sources:
    """Reads repository files once and remembers why any was skipped."""

    root: Path
    max_bytes: int = MAX_RENAME_BYTES
    skipped: dict[str, Skip] = field(default_factory=dict)
    _cache: dict[str, bytes | None] = field(default_factory=dict)
    _raw: dict[str, bytes] = field(default_factory=dict)  # bytes of read-but-skipped files

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))

    def list_files(self, languages: frozenset[str] = RENAME_LANGUAGES) -> list[str]:
        """The files of those languages; symlinks that leave the repository are
        recorded as skipped (the listing itself leaves them out)."""

        def wanted(rel: str) -> bool:
            return language_for(rel) in languages

        flt = RepoFilter(max_bytes=1 << 62, skip_binary=False, skip_minified=False)
        files = [f.path for f in scan_repo_files(self.root, flt, include=wanted)]
        listed = set(files)
        for rel in ls_files(self.root) or []:
            if rel in listed or not wanted(rel):
                continue
            full = self.root / rel
            if full.is_symlink():
                target = os.path.realpath(full)
                if not target.startswith(str(self.root) + os.sep):
                    self.skipped[rel] = Skip(f"a symlink to {target}, outside the repository", True)
        return files

    def read(self, rel: str) -> bytes | None:
        """The file's bytes, or None (and a reason in `skipped`)."""
        if rel in self._cache:
            return self._cache[rel]
        data = self._read(rel)
        self._cache[rel] = data
        return data

    def _read(self, rel: str) -> bytes | None:
        full = self.root / rel
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                if not target.startswith(str(self.root) + os.sep):
                    self.skipped[rel] = Skip(f"a symlink to {target}, outside the repository", True)
                else:
                    # its target is a file of the repository, renamed under its own name
                    self.skipped[rel] = Skip("a symlink (its target is renamed in place)")
                return None
            if not stat.S_ISREG(st.st_mode):
                self.skipped[rel] = Skip("not a regular file")
                return None
            if st.st_nlink > 1:
                self.skipped[rel] = Skip(
                    f"has {st.st_nlink} hard links (another may be outside)", True
                )
                return None
            if st.st_size > self.max_bytes:
                self.skipped[rel] = Skip(
                    f"too large ({st.st_size} bytes; the limit is {self.max_bytes})", True
                )
                return None
            with open(full, "rb") as fh:
                data = fh.read(self.max_bytes + 1)
        except OSError as exc:
            self.skipped[rel] = Skip(f"cannot be read ({exc.strerror})", True)
            return None
        self._raw[rel] = data
        if looks_binary(data):
            self.skipped[rel] = Skip("a binary file")
            return None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.skipped[rel] = Skip(f"not UTF-8 (bad byte at offset {exc.start})")
            return None
        del self._raw[rel]
        return data

    def notes(self, old: str) -> list[str]:
        """One line per skipped file that may have needed the rename: binary and
        non-UTF-8 files only when their bytes hold the old name (they were read)."""
        word = old.encode("utf-8")
        out = []
        for rel, skip in sorted(self.skipped.items()):
            if skip.always or word in (self._raw.get(rel) or b""):
                out.append(f"skipped {rel}: {skip.why}")
        return out


__all__ = ["MAX_RENAME_BYTES", "RENAME_LANGUAGES", "Skip", "Sources"]
