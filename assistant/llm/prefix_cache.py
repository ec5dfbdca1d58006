"""Disk cache of evaluated prompt prefixes (llama.cpp sequence state files).

Prompt evaluation dominates on a CPU, and every command start shares a long
fixed prefix (system prompt, tool declarations, instructions). After the
engine evaluates such a prefix it saves the KV state with
`llama_state_seq_save_file`; a later process loads the longest cached prefix
of its prompt instead of evaluating it. Entries are keyed by the model file's
identity, the context settings and the prefix's token hash; the directory is
capped in size and evicted least-recently-used."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.fsutil import atomic_write


def tokens_digest(tokens: Sequence[int]) -> str:
    return hashlib.sha256(np.asarray(tokens, dtype=np.int32).tobytes()).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    file: str
    n_tokens: int
    digest: str
    size: int
    used: float


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
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
        return [e for e in entries if (self.directory / e.file).exists()]

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
        everything = [(ns, item) for ns, items in index.items() for item in items]
        everything.sort(key=lambda pair: float(pair[1].get("used", 0)))  # type: ignore[arg-type]
        total = sum(int(item.get("size", 0)) for _, item in everything)  # type: ignore[call-overload]
        while total > self.max_bytes and everything:
            ns, item = everything.pop(0)
            total -= int(item.get("size", 0))  # type: ignore[call-overload]
            index[ns].remove(item)
            with contextlib.suppress(OSError):
                (self.directory / str(item["file"])).unlink()
