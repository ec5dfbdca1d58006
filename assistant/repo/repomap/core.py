"""`RepoMap`: files → tags (cached) → graph → ranking → budgeted text."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.repo.files import RepoFile, RepoFilter, scan_repo_files
from assistant.repo.repomap.cache import CachedRow, Stamp, TagCache, default_cache_path
from assistant.repo.repomap.languages import grammar_version, has_language, language_for
from assistant.repo.repomap.parse import Progress, parse_files
from assistant.repo.repomap.rank import Graph, Ranking, build_graph, mention_terms, rank
from assistant.repo.repomap.render import Candidate, fit
from assistant.repo.repomap.tags import CONTEXT_KINDS, Definition, FileTags
from assistant.repo.repomap.tokens import CountTokens, Estimator

BASELINE = 1e-3  # share of a file's rank spread over its unreferenced definitions


@dataclass(frozen=True)
class RankedDefinition:
    name: str
    kind: str
    line: int
    end_line: int
    signature: str
    score: float


@dataclass(frozen=True)
class MapFile:
    path: str
    rank: float
    definitions: list[RankedDefinition]


@dataclass(frozen=True)
class MapStats:
    total_files: int = 0
    parsed_files: int = 0
    cached_files: int = 0
    parse_errors: int = 0
    graph_reused: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MapResult:
    text: str
    tokens: int
    files: list[MapFile]
    stats: MapStats

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "files": [asdict(f) for f in self.files],
            "stats": asdict(self.stats),
            "text": self.text,
        }


def _fingerprint(stamps: dict[str, Stamp]) -> str:
    digest = hashlib.sha1()
    for path in sorted(stamps):
        size, mtime, grammar = stamps[path]
        digest.update(f"{path}\0{size}\0{mtime}\0{grammar}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _def_names(tags: FileTags) -> list[str]:
    return sorted({d.name for d in tags.defs if d.kind not in CONTEXT_KINDS})


class RepoMap:
    """A ranked, token-budgeted map of a repository's definitions.

    Keep one instance per repository: it remembers the last graph in memory, and
    the SQLite cache makes a fresh instance nearly as quick."""

    def __init__(
        self,
        root: Path,
        cache_path: Path | None = None,
        count_tokens: CountTokens | None = None,
        *,
        file_filter: RepoFilter | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.root = Path(root)
        self.count_tokens: CountTokens = count_tokens or Estimator()
        self.file_filter = file_filter or RepoFilter()
        self.progress = progress
        self.cache = TagCache(cache_path if cache_path is not None else default_cache_path(root))
        self._graph: Graph | None = None
        self._fingerprint = ""
        self._defs: dict[str, list[Definition]] = {}

    def close(self) -> None:
        self.cache.close()

    # ------------------------------------------------------------ pipeline
    def _scan(self) -> list[RepoFile]:
        def files_progress(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress("scan", done, total)

        return scan_repo_files(
            self.root, self.file_filter, include=has_language, progress=files_progress
        )

    def _refresh(self, timings: dict[str, float]) -> tuple[Graph, int, int, int, bool]:
        """The graph for the files on disk now: (graph, parsed, cached, errors, reused)."""
        t = time.perf_counter()
        files = self._scan()
        stamps: dict[str, Stamp] = {}
        for f in files:
            lang = language_for(f.path)
            if lang is not None:
                stamps[f.path] = (f.size, f.mtime_ns, grammar_version(lang))
        fingerprint = _fingerprint(stamps)
        timings["scan"] = time.perf_counter() - t
        if self._graph is not None and fingerprint == self._fingerprint:
            return self._graph, 0, len(stamps), 0, True

        t = time.perf_counter()
        cached = self.cache.stamps()
        todo = sorted(p for p, s in stamps.items() if cached.get(p) != s)
        stale = sorted(p for p in cached if p not in stamps)
        if stale:
            self.cache.forget(stale)
            for p in stale:
                self._defs.pop(p, None)
        graph: Graph | None = None
        if not todo and not stale:
            stored = self.cache.get_graph(fingerprint)
            if stored is not None:
                try:
                    graph = Graph.loads(*stored)
                except (ValueError, KeyError, OSError, TypeError):
                    graph = None
            if graph is not None and graph.files == sorted(stamps):
                timings["graph"] = time.perf_counter() - t
                self._graph, self._fingerprint = graph, fingerprint
                return graph, 0, len(stamps), 0, True
        inputs: dict[str, tuple[list[str], dict[str, int]]] = {}
        if len(todo) < len(stamps):
            for path, value in self.cache.graph_inputs().items():
                if path in stamps and cached.get(path) == stamps[path]:
                    inputs[path] = value
            todo = sorted(p for p in stamps if p not in inputs)
        timings["load"] = time.perf_counter() - t

        t = time.perf_counter()
        errors = 0
        batch: list[CachedRow] = []
        names: dict[str, list[str]] = {}
        for path, tags in parse_files(str(self.root), todo, self.progress):
            errors += int(tags.has_error)
            names[path] = _def_names(tags)
            inputs[path] = (names[path], tags.refs)
            self._defs[path] = tags.defs
            batch.append(CachedRow(path, stamps[path], tags))
            if len(batch) >= 500:
                self.cache.put(batch, names)
                batch, names = [], {}
        self.cache.put(batch, names)
        timings["parse"] = time.perf_counter() - t

        t = time.perf_counter()
        graph = build_graph(inputs)
        self.cache.put_graph(fingerprint, *graph.dumps())
        timings["graph"] = time.perf_counter() - t
        self._graph, self._fingerprint = graph, fingerprint
        return graph, len(todo), len(stamps) - len(todo), errors, False

    def _load_defs(self, paths: Sequence[str]) -> dict[str, list[Definition]]:
        missing = [p for p in paths if p not in self._defs]
        if missing:
            self._defs.update(self.cache.load_defs(missing))
            for path in missing:
                if path not in self._defs:  # unreadable cache row: parse again
                    for rel, tags in parse_files(str(self.root), [path]):
                        self._defs[rel] = tags.defs
        return {p: self._defs[p] for p in paths if p in self._defs}

    def _candidates(
        self,
        ranking: Ranking,
        budget: int,
        focus: Sequence[str],
        mentions: Sequence[str],
        include_focus: bool,
    ) -> tuple[list[Candidate], dict[str, list[Definition]]]:
        words, _paths = mention_terms(mentions)
        excluded = set() if include_focus else set(focus)
        wanted: list[str] = []
        seen: set[str] = set()
        for path, _name, _score in ranking.top_definitions(max(48, budget // 5)):
            if path not in seen and path not in excluded:
                seen.add(path)
                wanted.append(path)
        for path, _score in ranking.top_files(16):
            if path not in seen and path not in excluded:
                seen.add(path)
                wanted.append(path)
        file_rank = ranking.file_rank
        for path in focus if include_focus else ():
            if path not in seen and path in file_rank:
                seen.add(path)
                wanted.append(path)
        defs = self._load_defs(wanted)
        def_rank = ranking.definition_scores(defs)
        candidates: list[Candidate] = []
        for path, file_defs in defs.items():
            this_rank = file_rank.get(path, 0.0)
            shown = [d for d in file_defs if d.kind not in CONTEXT_KINDS]
            base = this_rank * BASELINE / max(1, len(shown))
            named: set[str] = set()
            for index, d in enumerate(file_defs):
                if d.kind in CONTEXT_KINDS:
                    continue
                score = def_rank.get((path, d.name), 0.0) + base
                if d.name in named:  # overloads and redefinitions: show the first
                    score *= 0.1
                named.add(d.name)
                if d.name in words:
                    score += this_rank
                candidates.append(Candidate(score, path, index))
        candidates.sort(key=lambda c: (-c.score, c.path, defs[c.path][c.index].line, c.index))
        return candidates, defs

    # ------------------------------------------------------------ public
    def build(
        self,
        budget_tokens: int,
        focus_files: Sequence[str] = (),
        mentions: Sequence[str] = (),
        *,
        include_focus: bool = False,
    ) -> MapResult:
        """The map of the best-ranked definitions in at most `budget_tokens` tokens.

        `focus_files` are repo-relative paths in the chat (ranking leans toward
        what they use; their own definitions are left out unless `include_focus`,
        since the model already sees them). `mentions` are words or whole messages;
        identifiers and paths in them pull the ranking toward their definitions."""
        start = time.perf_counter()
        timings: dict[str, float] = {}
        focus = [self._relative(p) for p in focus_files]
        graph, parsed, cached, errors, reused = self._refresh(timings)
        t = time.perf_counter()
        ranking = rank(graph, focus, mentions)
        timings["rank"] = time.perf_counter() - t
        t = time.perf_counter()
        candidates, defs = self._candidates(ranking, budget_tokens, focus, mentions, include_focus)
        file_rank = ranking.file_rank
        rendered = fit(candidates, defs, max(0, budget_tokens), self.count_tokens, file_rank)
        scores = {(c.path, c.index): c.score for c in candidates}
        files: list[MapFile] = []
        for path in rendered.file_order:
            shown = [
                (scores.get((path, i), 0.0), defs[path][i]) for i in rendered.chosen.get(path, [])
            ]
            shown.sort(key=lambda sd: (-sd[0], sd[1].line))
            files.append(
                MapFile(
                    path,
                    file_rank.get(path, 0.0),
                    [
                        RankedDefinition(d.name, d.kind, d.line, d.end_line, d.signature, s)
                        for s, d in shown
                    ],
                )
            )
        timings["render"] = time.perf_counter() - t
        stats = MapStats(
            total_files=len(graph.files),
            parsed_files=parsed,
            cached_files=cached,
            parse_errors=errors,
            graph_reused=reused,
            seconds=time.perf_counter() - start,
            timings=timings,
        )
        return MapResult(rendered.text, rendered.tokens, files, stats)

    def _relative(self, path: str) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                return p.as_posix()
        return p.as_posix().removeprefix("./")


__all__ = ["MapFile", "MapResult", "MapStats", "RankedDefinition", "RepoMap"]
