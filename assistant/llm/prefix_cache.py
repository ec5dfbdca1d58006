"""Disk cache of evaluated prompt prefixes (llama.cpp sequence state files).

Prompt evaluation dominates on a CPU, and every command start shares a long
fixed prefix (system prompt, tool declarations, instructions). After the
engine evaluates such a prefix it saves the KV state with
`llama_state_seq_save_file`; a later process loads the longest cached prefix
of its prompt instead of evaluating it. Entries are keyed by the model file's
identity, the context settings and the prefix's token hash; the directory is
capped in size and evicted least-recently-used.

The index is not trusted: each state file's sha256 is recorded when it is
saved and checked before it is loaded (a damaged file is dropped, and the
prefix is evaluated again), and only files the cache itself named
(`<32 hex>.state` directly inside the directory) are ever read or deleted."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.fsutil import atomic_write


def tokens_digest(tokens: Sequence[int]) -> str:
    return hashlib.sha256(np.asarray(tokens, dtype=np.int32).tobytes()).hexdigest()


# The only names `path_for` gives; anything else in the index is not ours.
STATE_NAME = re.compile(r"[0-9a-f]{32}\.state")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    file: str
    n_tokens: int
    digest: str
    size: int
    used: float
    sha256: str = ""  # of the state file; entries without one are never loaded


class PrefixCache:
    INDEX = "index.json"

    def __init__(self, directory: Path, namespace: str, max_bytes: int = 2 << 30) -> None:
        """`namespace` identifies the model file and context settings; entries
        of other namespaces in the same directory are never returned."""
        self.directory = directory
        self.namespace = namespace
        self.max_bytes = max_bytes

    def _load_index(self) -> dict[str, list[dict[str, object]]]:
        try:
            data = json.loads((self.directory / self.INDEX).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # a missing or corrupt index only costs a re-evaluation

    def _save_index(self, index: dict[str, list[dict[str, object]]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self.directory / self.INDEX, json.dumps(index).encode("utf-8"))

    def _entries(self) -> list[CacheEntry]:
        raw = self._load_index().get(self.namespace, [])
        entries = []
        for item in raw:
            try:
                entries.append(
                    CacheEntry(
                        file=str(item["file"]),
                        n_tokens=int(item["n_tokens"]),  # type: ignore[call-overload]
                        digest=str(item["digest"]),
                        size=int(item["size"]),  # type: ignore[call-overload]
                        used=float(item["used"]),  # type: ignore[arg-type]
                        sha256=str(item.get("sha256", "")),
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
        return [e for e in entries if self._own_file(e.file) is not None]

    def _own_file(self, name: str) -> Path | None:
        """`directory/name` when `name` is one the cache gives its files and it
        is a regular file there (not a symlink, not elsewhere); else None."""
        if not STATE_NAME.fullmatch(name):
            return None
        path = self.directory / name
        try:
            info = os.lstat(path)
        except OSError:
            return None
        return path if stat.S_ISREG(info.st_mode) else None

    def verify(self, entry: CacheEntry) -> bool:
        """The state file is the one saved: same size and sha256."""
        path = self._own_file(entry.file)
        if path is None or not entry.sha256:
            return False
        try:
            return path.stat().st_size == entry.size and file_sha256(path) == entry.sha256
        except OSError:
            return False

    def drop(self, entry: CacheEntry) -> None:
        """Forget a damaged entry and delete its file (ours by name)."""
        index = self._load_index()
        items = index.get(self.namespace, [])
        index[self.namespace] = [i for i in items if i.get("file") != entry.file]
        path = self._own_file(entry.file)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            self._save_index(index)

    def lookup(self, prompt: Sequence[int], longer_than: int = 0) -> CacheEntry | None:
        """The entry holding the longest prefix of `prompt`, if any is longer
        than `longer_than` (what the caller already has: shorter entries are
        not hashed, and the index is not rewritten for them)."""
        best: CacheEntry | None = None
        for entry in sorted(self._entries(), key=lambda e: -e.n_tokens):
            if (
                longer_than < entry.n_tokens <= len(prompt)
                and tokens_digest(prompt[: entry.n_tokens]) == entry.digest
            ):
                if not self.verify(entry):
                    self.drop(entry)  # damaged: evaluated again, and saved afresh
                    continue
                best = entry
                break
        if best is not None:
            self._touch(best)
        return best

    def contains(self, prefix: Sequence[int]) -> bool:
        digest = tokens_digest(prefix)
        return any(e.digest == digest and e.n_tokens == len(prefix) for e in self._entries())

    def path_for(self, prefix: Sequence[int]) -> Path:
        name = hashlib.sha256(f"{self.namespace}:{tokens_digest(prefix)}".encode()).hexdigest()
        return self.directory / f"{name[:32]}.state"

    def add(self, prefix: Sequence[int], state_file: Path) -> None:
        index = self._load_index()
        entries = [e for e in index.get(self.namespace, []) if e.get("file") != state_file.name]
        entries.append(
            {
                "file": state_file.name,
                "n_tokens": len(prefix),
                "digest": tokens_digest(prefix),
                "size": state_file.stat().st_size,
                "used": time.time(),
                "sha256": file_sha256(state_file),
            }
        )
        index[self.namespace] = entries
        self._evict(index)
        self._save_index(index)

    def _touch(self, entry: CacheEntry) -> None:
        index = self._load_index()
        for item in index.get(self.namespace, []):
            if item.get("file") == entry.file:
                item["used"] = time.time()
        with contextlib.suppress(OSError):
            self._save_index(index)

    def _evict(self, index: dict[str, list[dict[str, object]]]) -> None:
        everything = [
            (ns, item)
            for ns, items in index.items()
            if isinstance(items, list)
            for item in items
            if isinstance(item, dict)
        ]
        everything.sort(key=lambda pair: _number(pair[1].get("used")))
        total = sum(_number(item.get("size")) for _, item in everything)
        while total > self.max_bytes and everything:
            ns, item = everything.pop(0)
            total -= _number(item.get("size"))
            index[ns].remove(item)
            path = self._own_file(str(item.get("file", "")))
            if path is not None:  # never a path the index merely names
                with contextlib.suppress(OSError):
                    path.unlink()


def _number(value: object) -> float:
    """A number from the (untrusted) index; anything else counts as 0."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0
