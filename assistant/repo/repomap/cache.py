"""On-disk tag cache: one SQLite file per repository.

Rows are keyed by path and stamped with size, mtime and grammar version; a row
whose stamp differs from the file on disk is re-parsed. The last ranked graph is
stored with a fingerprint of all stamps, so a call on an unchanged repo skips the
graph build. A cache that cannot be read is deleted and rebuilt; one that cannot
be written falls back to memory. Nothing here is ever fatal."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.config import user_cache_dir
from assistant.repo.repomap.tags import Definition, FileTags

SCHEMA_VERSION = "1"
MEMORY = ":memory:"

Stamp = tuple[int, int, str]  # size, mtime_ns, grammar version


def default_cache_path(root: Path) -> Path:
    key = hashlib.sha1(os.path.realpath(root).encode("utf-8", "surrogateescape")).hexdigest()
    # The same cache root as every other cache (ASSISTANT_CACHE_DIR honoured).
    return user_cache_dir() / "repomap" / f"{Path(root).resolve().name[:40]}-{key[:16]}.sqlite"


@dataclass(frozen=True)
class CachedRow:
    path: str
    stamp: Stamp
    tags: FileTags


def encode_defs(defs: list[Definition]) -> str:
    return json.dumps([d.to_row() for d in defs], ensure_ascii=False, separators=(",", ":"))


def decode_defs(text: str) -> list[Definition]:
    return [Definition.from_row(row) for row in json.loads(text)]


class TagCache:
    def __init__(self, path: Path | str | None) -> None:
        self.path = str(path) if path is not None else MEMORY
        self.fell_back = False
        self._conn = self._open()

    # ------------------------------------------------------------ connection
    def _open(self) -> sqlite3.Connection:
        if self.path != MEMORY:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                conn = self._connect(self.path)
                self._check(conn)
                return conn
            except (sqlite3.Error, OSError, ValueError):
                self._delete_files()
            try:
                conn = self._connect(self.path)
                self._check(conn)
                return conn
            except (sqlite3.Error, OSError, ValueError):
                self.fell_back = True
        return self._connect(MEMORY)

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @staticmethod
    def _check(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
        row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is not None and row[0] != SCHEMA_VERSION:
            conn.execute("DROP TABLE IF EXISTS files")
            conn.execute("DROP TABLE IF EXISTS graph")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, grammar TEXT, defs TEXT, names TEXT, refs TEXT, has_error INTEGER)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS graph(id INTEGER PRIMARY KEY, fingerprint TEXT, "
            "header TEXT, data BLOB)"
        )
        conn.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("SELECT count(*) FROM files").fetchone()
        conn.execute("PRAGMA quick_check(1)").fetchone()

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(self.path + suffix)

    def _recover(self) -> None:
        """The database went bad mid-use: start again from an empty one."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        if self.path != MEMORY:
            self._delete_files()
        self._conn = self._open()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                return  # another process is writing; skip this write
            self._recover()

    # ------------------------------------------------------------ files
    def stamps(self) -> dict[str, Stamp]:
        with self._guard():
            rows = self._conn.execute("SELECT path, size, mtime_ns, grammar FROM files")
            return {r[0]: (int(r[1]), int(r[2]), str(r[3])) for r in rows}
        return {}

    def graph_inputs(self) -> dict[str, tuple[list[str], dict[str, int]]]:
        """Defined names and reference counts of every cached file."""
        out: dict[str, tuple[list[str], dict[str, int]]] = {}
        with self._guard():
            for path, names, refs in self._conn.execute("SELECT path, names, refs FROM files"):
                try:
                    out[path] = (json.loads(names), json.loads(refs))
                except (ValueError, TypeError):
                    continue
            return out
        return {}

    def load_defs(self, paths: Iterable[str]) -> dict[str, list[Definition]]:
        wanted = list(paths)
        out: dict[str, list[Definition]] = {}
        with self._guard():
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT path, defs FROM files WHERE path IN ({marks})"
                for path, defs in self._conn.execute(query, chunk):
                    try:
                        out[path] = decode_defs(defs)
                    except (ValueError, TypeError, KeyError):
                        continue
        return out

    def put(self, rows: Iterable[CachedRow], def_names: dict[str, list[str]]) -> None:
        data = [
            (
                row.path,
                row.stamp[0],
                row.stamp[1],
                row.stamp[2],
                encode_defs(row.tags.defs),
                json.dumps(def_names[row.path], ensure_ascii=False, separators=(",", ":")),
                json.dumps(row.tags.refs, ensure_ascii=False, separators=(",", ":")),
                int(row.tags.has_error),
            )
            for row in rows
        ]
        if not data:
            return
        with self._guard():
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?)", data)
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise

    def forget(self, paths: Iterable[str]) -> None:
        gone = [(p,) for p in paths]
        if gone:
            with self._guard():
                self._conn.executemany("DELETE FROM files WHERE path=?", gone)

    # ------------------------------------------------------------ graph
    def get_graph(self, fingerprint: str) -> tuple[str, bytes] | None:
        with self._guard():
            row = self._conn.execute(
                "SELECT header, data FROM graph WHERE id=0 AND fingerprint=?", (fingerprint,)
            ).fetchone()
            return None if row is None else (str(row[0]), bytes(row[1]))
        return None

    def put_graph(self, fingerprint: str, header: str, data: bytes) -> None:
        with self._guard():
            self._conn.execute(
                "INSERT OR REPLACE INTO graph VALUES(0, ?, ?, ?)", (fingerprint, header, data)
            )
