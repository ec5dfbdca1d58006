"""The file graph and its personalised PageRank.

Nodes are files; an edge runs from a file that references an identifier to each
file that defines it, weighted by how informative the identifier is (rare, long,
public names weigh more; private, dunder and ubiquitous ones less) and by how often
the referencing file uses it. Ranking personalises toward the files in the chat and
the identifiers and paths mentioned by the user. Pure numpy, deterministic."""

from __future__ import annotations

import builtins
import io
import json
import math
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

GRAPH_VERSION = "3"
MAX_DEFINERS = 30  # identifiers defined in more files than this carry no signal
DAMPING = 0.85
MENTION_BOOST = 10.0

_CAMEL = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")

# Names every language's standard library provides: a reference to one of these is
# almost never to the repo's own definition of the same name.
STOP_NAMES: frozenset[str] = frozenset(
    {n for n in dir(builtins) if not n.startswith("_")}
    | set(typing.__all__)
    | {"self", "cls", "this", "super", "main", "init", "new", "get", "set", "run", "test"}
    | {"console", "Object", "Array", "String", "Number", "Promise", "Error", "Math", "JSON"}
    | {"require", "module", "exports", "Date", "Map", "Set", "Symbol", "window", "document"}
    | {"fmt", "make", "append", "error", "string", "println", "printf", "malloc", "free"}
    | {"size_t", "std", "vector", "echo", "puts", "Console", "System", "Exception"}
)


def identifier_weight(name: str, n_definers: int, n_referrers: int, n_files: int) -> float:
    """How much one reference to `name` says about the file that defines it."""
    if n_definers == 0 or name in STOP_NAMES:
        return 0.0
    n = n_referrers + n_definers
    # BM25's idf, squared: names most files use say little about any one of them.
    idf = math.log(1.0 + (n_files - n + 0.5) / (n + 0.5)) if n_files > n else 0.05
    weight = max(idf, 0.05) ** 2
    if name.startswith("__") and name.endswith("__"):
        weight *= 0.05
    elif name.startswith("_"):
        weight *= 0.2
    length = len(name)
    if length <= 2:
        weight *= 0.1
    elif length >= 8 or "_" in name.strip("_") or _CAMEL.search(name):
        weight *= 2.0
    elif length <= 4:
        weight *= 0.5
    return weight / n_definers


@dataclass
class Graph:
    files: list[str]
    idents: list[str]
    src: np.ndarray  # int32 per edge
    dst: np.ndarray  # int32 per edge
    ident: np.ndarray  # int32 per edge
    weight: np.ndarray  # float64 per edge, before per-call mention boosts
    def_ptr: np.ndarray  # CSR over idents: files that define each
    def_files: np.ndarray
    edge_pair: np.ndarray  # int32 per edge: its (src, dst) pair
    pair_src: np.ndarray  # int32 per distinct (src, dst) pair
    pair_dst: np.ndarray
    edge_def: np.ndarray  # int32 per edge: its (dst, ident) definition key
    def_file: np.ndarray  # int32 per distinct (dst, ident) key
    def_ident: np.ndarray

    def definers(self, ident_index: int) -> np.ndarray:
        return self.def_files[self.def_ptr[ident_index] : self.def_ptr[ident_index + 1]]

    # ------------------------------------------------------------ storage
    def dumps(self) -> tuple[str, bytes]:
        header = json.dumps({"v": GRAPH_VERSION, "files": self.files, "idents": self.idents})
        buf = io.BytesIO()
        np.savez(
            buf,
            src=self.src,
            dst=self.dst,
            ident=self.ident,
            weight=self.weight,
            def_ptr=self.def_ptr,
            def_files=self.def_files,
            edge_pair=self.edge_pair,
            pair_src=self.pair_src,
            pair_dst=self.pair_dst,
            edge_def=self.edge_def,
            def_file=self.def_file,
            def_ident=self.def_ident,
        )
        return header, buf.getvalue()

    @classmethod
    def loads(cls, header: str, data: bytes) -> Graph:
        meta = json.loads(header)
        if meta.get("v") != GRAPH_VERSION:
            raise ValueError("graph version")
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        graph = cls(
            list(meta["files"]),
            list(meta["idents"]),
            arrays["src"],
            arrays["dst"],
            arrays["ident"],
            arrays["weight"],
            arrays["def_ptr"],
            arrays["def_files"],
            arrays["edge_pair"],
            arrays["pair_src"],
            arrays["pair_dst"],
            arrays["edge_def"],
            arrays["def_file"],
            arrays["def_ident"],
        )
        n, m = len(graph.files), len(graph.idents)
        if len(graph.def_ptr) != m + 1 or (len(graph.src) and int(graph.src.max()) >= n):
            raise ValueError("inconsistent graph")
        return graph


def build_graph(inputs: Mapping[str, tuple[Sequence[str], Mapping[str, int]]]) -> Graph:
    """`inputs`: path -> (names it defines, {name referenced: count})."""
    files = sorted(inputs)
    index = {path: i for i, path in enumerate(files)}
    definers: dict[str, list[int]] = {}
    for path in files:
        i = index[path]
        for name in sorted(set(inputs[path][0])):
            definers.setdefault(name, []).append(i)
    referrers: dict[str, int] = {}
    for path in files:
        for name in inputs[path][1]:
            if name in definers:
                referrers[name] = referrers.get(name, 0) + 1
    idents = sorted(definers)
    ident_index = {name: k for k, name in enumerate(idents)}
    n_files = len(files)
    ident_w = {
        name: identifier_weight(name, len(definers[name]), referrers.get(name, 0), n_files)
        for name in idents
        if len(definers[name]) <= MAX_DEFINERS
    }
    src: list[int] = []
    dst: list[int] = []
    ids: list[int] = []
    weight: list[float] = []
    for path in files:
        i = index[path]
        refs = inputs[path][1]
        for name in sorted(refs):
            w = ident_w.get(name)
            if not w:
                continue
            w *= math.sqrt(refs[name])
            k = ident_index[name]
            for j in definers[name]:
                if j != i:
                    src.append(i)
                    dst.append(j)
                    ids.append(k)
                    weight.append(w)
    ptr = [0]
    flat: list[int] = []
    for name in idents:
        flat.extend(definers[name])
        ptr.append(len(flat))
    src_a = np.asarray(src, dtype=np.int32)
    dst_a = np.asarray(dst, dtype=np.int32)
    ids_a = np.asarray(ids, dtype=np.int32)
    pair_keys, edge_pair = np.unique(
        src_a.astype(np.int64) * max(1, n_files) + dst_a, return_inverse=True
    )
    m = max(1, len(idents))
    def_keys, edge_def = np.unique(dst_a.astype(np.int64) * m + ids_a, return_inverse=True)
    return Graph(
        files,
        idents,
        src_a,
        dst_a,
        ids_a,
        np.asarray(weight, dtype=np.float64),
        np.asarray(ptr, dtype=np.int64),
        np.asarray(flat, dtype=np.int32),
        edge_pair.astype(np.int32).reshape(-1),
        (pair_keys // max(1, n_files)).astype(np.int32),
        (pair_keys % max(1, n_files)).astype(np.int32),
        edge_def.astype(np.int32).reshape(-1),
        (def_keys // m).astype(np.int32),
        (def_keys % m).astype(np.int32),
    )


def pagerank(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    personalization: np.ndarray | None = None,
    damping: float = DAMPING,
    tol: float = 1e-9,
    max_iter: int = 100,
) -> np.ndarray:
    """Weighted personalised PageRank by power iteration; sums to 1."""
    if n == 0:
        return np.zeros(0)
    if personalization is None or personalization.sum() <= 0:
        p = np.full(n, 1.0 / n)
    else:
        p = personalization / personalization.sum()
    out_w = np.bincount(src, weights=weight, minlength=n)
    dangling = out_w <= 0
    norm = weight / np.where(out_w > 0, out_w, 1.0)[src]
    r = p.copy()
    for _ in range(max_iter):
        flow = np.bincount(dst, weights=r[src] * norm, minlength=n)
        nxt = damping * (flow + r[dangling].sum() * p) + (1.0 - damping) * p
        if np.abs(nxt - r).sum() < tol:
            r = nxt
            break
        r = nxt
    return r


@dataclass(frozen=True)
class Ranking:
    graph: Graph
    file_scores: np.ndarray  # PageRank per file
    def_scores: np.ndarray  # rank flowing into each (file, identifier) definition key
    boosted: frozenset[str]  # mentioned identifiers

    @property
    def file_rank(self) -> dict[str, float]:
        return dict(zip(self.graph.files, self.file_scores.tolist(), strict=True))

    def top_files(self, k: int) -> list[tuple[str, float]]:
        order = sorted(range(len(self.graph.files)), key=lambda i: (-self.file_scores[i], i))
        return [(self.graph.files[i], float(self.file_scores[i])) for i in order[:k]]

    def top_definitions(self, k: int) -> list[tuple[str, str, float]]:
        """(path, identifier, score) of the k best definition keys, best first."""
        scores = self.def_scores
        if k <= 0 or not len(scores):
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        part = sorted(top.tolist(), key=lambda j: (-scores[j], j))
        g = self.graph
        return [(g.files[g.def_file[j]], g.idents[g.def_ident[j]], float(scores[j])) for j in part]

    def definition_scores(self, paths: Iterable[str]) -> dict[tuple[str, str], float]:
        g = self.graph
        index = {p: i for i, p in enumerate(g.files)}
        wanted = np.asarray(sorted(index[p] for p in paths if p in index), dtype=np.int32)
        out: dict[tuple[str, str], float] = {}
        if not len(wanted) or not len(g.def_file):
            return out
        for j in np.nonzero(np.isin(g.def_file, wanted))[0].tolist():
            out[(g.files[g.def_file[j]], g.idents[g.def_ident[j]])] = float(self.def_scores[j])
        return out


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATHISH = re.compile(r"[\w./\\-]+")


def mention_terms(mentions: Iterable[str]) -> tuple[set[str], set[str]]:
    """Identifiers and path-like words from free text (a user message, or words)."""
    words: set[str] = set()
    paths: set[str] = set()
    for text in mentions:
        for token in _PATHISH.findall(text):
            token = token.strip("./\\-").replace("\\", "/")
            if "/" in token or "." in token:
                paths.add(token)
        words.update(_WORD.findall(text))
    return words, paths


def rank(
    graph: Graph,
    focus_files: Sequence[str] = (),
    mentions: Sequence[str] = (),
) -> Ranking:
    n = len(graph.files)
    index = {path: i for i, path in enumerate(graph.files)}
    words, paths = mention_terms(mentions)
    personal = np.zeros(n)
    for path in focus_files:
        i = index.get(path)
        if i is not None:
            personal[i] += 1.0
    if paths or words:
        stems = {w.lower() for w in words if len(w) >= 3}
        for i, path in enumerate(graph.files):
            name = path.rpartition("/")[2]
            stem = name.partition(".")[0].lower()
            if any(path == q or path.endswith("/" + q) or name == q for q in paths):
                personal[i] += 1.0
            elif stem in stems:
                personal[i] += 0.5
    weight = graph.weight
    ident_index = {name: k for k, name in enumerate(graph.idents)}
    boosted = sorted(ident_index[w] for w in words if w in ident_index)
    if boosted:
        mask = np.isin(graph.ident, np.asarray(boosted, dtype=np.int32))
        weight = np.where(mask, weight * MENTION_BOOST, weight)
        for k in boosted:
            defs = graph.definers(k)
            if len(defs):
                personal[defs] += 0.5 / len(defs)
    pair_weight = np.bincount(graph.edge_pair, weights=weight, minlength=len(graph.pair_src))
    r = pagerank(
        n, graph.pair_src, graph.pair_dst, pair_weight, personal if personal.any() else None
    )
    out_w = np.bincount(graph.src, weights=weight, minlength=n)
    contrib = r[graph.src] * weight / np.where(out_w > 0, out_w, 1.0)[graph.src]
    def_scores = np.bincount(graph.edge_def, weights=contrib, minlength=len(graph.def_file))
    if boosted:
        def_scores = np.where(
            np.isin(graph.def_ident, np.asarray(boosted, dtype=np.int32)),
            def_scores * MENTION_BOOST,
            def_scores,
        )
    return Ranking(graph, r, def_scores, frozenset(graph.idents[k] for k in boosted))
