"""Rendering ranked definitions into a token-budgeted map.

Output groups definitions by file, best file first; each line is a line number and
the definition's one-line signature (bodies elided), indented as in the source. A
method brings its enclosing class line along so the model sees where it lives.
Fitting is greedy in rank order, counting each line once with the caller's
tokenizer, then the whole text is counted again and trimmed if it runs over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.repo.repomap.tags import Definition
from assistant.repo.repomap.tokens import CountTokens

MAX_INDENT = 12
MAX_SKIPS = 300  # candidates tried after the first one that does not fit


@dataclass(frozen=True)
class Candidate:
    score: float
    path: str
    index: int  # into the file's definitions


@dataclass
class Rendered:
    text: str
    tokens: int
    chosen: dict[str, list[int]]  # path -> definition indices shown (with context)
    file_order: list[str]


def def_line(defn: Definition, base_indent: int) -> str:
    indent = min(MAX_INDENT, max(0, defn.indent - base_indent))
    return f"{defn.line:>4}: {' ' * indent}{defn.signature}\n"


def header_line(path: str) -> str:
    return f"{path}:\n"


def _ancestors(defs: Sequence[Definition], index: int) -> list[int]:
    out: list[int] = []
    parent = defs[index].parent
    while 0 <= parent < len(defs) and parent not in out:
        out.append(parent)
        parent = defs[parent].parent
    return out


def _text(chosen: dict[str, set[int]], order: list[str], defs: dict[str, list[Definition]]) -> str:
    parts: list[str] = []
    for path in order:
        picked = chosen.get(path)
        if not picked:
            continue
        file_defs = defs[path]
        base = min(file_defs[i].indent for i in picked)
        parts.append(header_line(path))
        parts.extend(
            def_line(file_defs[i], base)
            for i in sorted(picked, key=lambda i: (file_defs[i].line, i))
        )
    return "".join(parts)


def fit(
    candidates: Sequence[Candidate],
    defs: dict[str, list[Definition]],
    budget: int,
    count_tokens: CountTokens,
    file_rank: dict[str, float] | None = None,
) -> Rendered:
    """The best-ranked candidates whose rendering fits in `budget` tokens; files
    appear in `file_rank` order (else in the order their first candidate came)."""
    # Per-line counts only approximate the count of the joined text, so adjust the
    # working limit from the real count of each attempt and keep the best that fits.
    limit = budget
    best = Rendered("", 0, {}, [])
    for _attempt in range(6):
        rendered = _greedy(candidates, defs, limit, count_tokens, file_rank or {})
        if rendered.tokens <= budget:
            if rendered.tokens > best.tokens:
                best = rendered
            if rendered.tokens >= budget * 0.98 or rendered.tokens == 0:
                break
            limit += max(1, budget - rendered.tokens)
        else:
            limit -= rendered.tokens - budget + max(1, budget // 100)
            if limit <= 0:
                break
    return best


def _greedy(
    candidates: Sequence[Candidate],
    defs: dict[str, list[Definition]],
    limit: int,
    count_tokens: CountTokens,
    file_rank: dict[str, float],
) -> Rendered:
    chosen: dict[str, set[int]] = {}
    order: list[str] = []
    line_cost: dict[tuple[str, int], int] = {}
    total = 0
    skips = 0

    def cost_of(path: str, index: int) -> int:
        key = (path, index)
        cost = line_cost.get(key)
        if cost is None:
            # Indentation is relative to the file's shallowest shown definition, so
            # the exact cost can shift by a space; the final count settles that.
            cost = line_cost[key] = count_tokens(def_line(defs[path][index], 0))
        return cost

    for cand in candidates:
        file_defs = defs.get(cand.path)
        if file_defs is None or not 0 <= cand.index < len(file_defs):
            continue
        picked = chosen.get(cand.path)
        if picked is not None and cand.index in picked:
            continue
        needed = [cand.index, *_ancestors(file_defs, cand.index)]
        if picked is not None:
            needed = [i for i in needed if i not in picked]
        added = sum(cost_of(cand.path, i) for i in needed)
        if picked is None:
            added += count_tokens(header_line(cand.path))
        if total + added > limit:
            skips += 1
            if skips > MAX_SKIPS:
                break
            continue
        total += added
        if picked is None:
            picked = chosen[cand.path] = set()
            order.append(cand.path)
        picked.update(needed)
    if file_rank:
        position = {path: i for i, path in enumerate(order)}
        order.sort(key=lambda p: (-file_rank.get(p, 0.0), position[p]))
    text = _text(chosen, order, defs)
    tokens = count_tokens(text) if text else 0
    return Rendered(text, tokens, {p: sorted(s) for p, s in chosen.items()}, order)
