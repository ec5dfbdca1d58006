"""Parsing many files: serially for a few, in a process pool for many.

`parse_counter` counts every file parsed in this process or on its behalf (tests
use it to check that a warm call re-parses nothing it need not)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.repo.repomap.languages import language_for
from assistant.repo.repomap.tags import Definition, FileTags, extract_tags

PARALLEL_MIN_FILES = 48

Progress = Callable[[str, int, int], None]


@dataclass
class ParseCounter:
    value: int = 0

    def reset(self) -> None:
        self.value = 0


parse_counter = ParseCounter()


def parse_file(root: str, rel: str) -> FileTags:
    """Tags of one file; unreadable or unparsable files give empty tags."""
    lang = language_for(rel)
    if lang is None:
        return FileTags()
    try:
        with open(os.path.join(root, rel), "rb") as fh:
            source = fh.read()
        return extract_tags(source, lang)
    except Exception:  # a grammar or query failure must not stop the map
        return FileTags(has_error=True)


def _row(rel: str, tags: FileTags) -> str:
    rows = [d.to_row() for d in tags.defs]
    return json.dumps([rel, rows, tags.refs, tags.has_error], ensure_ascii=False)


def _from_row(line: str) -> tuple[str, FileTags]:
    rel, defs, refs, has_error = json.loads(line)
    return rel, FileTags([Definition.from_row(d) for d in defs], refs, bool(has_error))


def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _split(root: str, rels: Sequence[str], parts: int) -> list[list[str]]:
    """Balance by file size, largest first, so workers finish together."""
    sized = []
    for rel in rels:
        try:
            size = os.path.getsize(os.path.join(root, rel))
        except OSError:
            size = 0
        sized.append((size, rel))
    sized.sort(key=lambda sr: (-sr[0], sr[1]))
    loads = [0] * parts
    chunks: list[list[str]] = [[] for _ in range(parts)]
    for size, rel in sized:
        k = loads.index(min(loads))
        loads[k] += size + 2000
        chunks[k].append(rel)
    return [c for c in chunks if c]


def _start_worker(root: str, chunk: list[str]) -> subprocess.Popen[str]:
    """A fresh interpreter running `_worker_main`: no fork of a threaded parent, no
    re-import of the caller's __main__."""
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.repo.repomap.parse"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        env=env,
    )
    assert proc.stdin is not None
    # Feed paths from a thread so a worker's full stdout pipe cannot deadlock us.
    payload = json.dumps([root, chunk])

    def feed() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except OSError:
            pass

    threading.Thread(target=feed, daemon=True).start()
    return proc


def parse_files(
    root: str, rels: Sequence[str], progress: Progress | None = None
) -> Iterator[tuple[str, FileTags]]:
    """Yield (path, tags) for every path, in no particular order."""
    total = len(rels)
    workers = _workers()
    done = 0

    def serial(paths: Sequence[str]) -> Iterator[tuple[str, FileTags]]:
        nonlocal done
        for rel in paths:
            tags = parse_file(root, rel)
            parse_counter.value += 1
            done += 1
            if progress is not None and (done % 100 == 0 or done == total):
                progress("parse", done, total)
            yield rel, tags

    if total < PARALLEL_MIN_FILES or workers == 1:
        yield from serial(rels)
        return
    chunks = _split(root, rels, workers)
    results: queue.Queue[tuple[int, str | None]] = queue.Queue()
    procs: list[subprocess.Popen[str]] = []
    try:
        for k, chunk in enumerate(chunks):
            proc = _start_worker(root, chunk)
            procs.append(proc)

            def drain(k: int = k, proc: subprocess.Popen[str] = proc) -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    results.put((k, line))
                results.put((k, None))

            threading.Thread(target=drain, daemon=True).start()
    except OSError:
        for proc in procs:
            proc.kill()
        yield from serial(rels)
        return
    got: set[str] = set()
    open_workers = len(procs)
    while open_workers:
        _k, line = results.get()
        if line is None:
            open_workers -= 1
            continue
        try:
            rel, tags = _from_row(line)
        except (ValueError, TypeError):
            continue
        if rel in got:
            continue
        got.add(rel)
        parse_counter.value += 1
        done += 1
        if progress is not None and (done % 100 == 0 or done == total):
            progress("parse", done, total)
        yield rel, tags
    for proc in procs:
        proc.wait()
    # Whatever a crashed worker left undone is parsed here.
    yield from serial([rel for rel in rels if rel not in got])


def _worker_main() -> None:
    root, rels = json.load(sys.stdin)
    out = sys.stdout
    for rel in rels:
        out.write(_row(rel, parse_file(root, rel)) + "\n")
    out.flush()


if __name__ == "__main__":
    _worker_main()
