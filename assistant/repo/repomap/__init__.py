"""Repository map: tree-sitter tags ranked by personalised PageRank, fitted to a
token budget, cached on disk per repository.

    RepoMap(root).build(budget_tokens=2048, focus_files=["pkg/a.py"],
                        mentions=["why does Session.execute fail?"]).text
"""

from assistant.repo.repomap.core import MapFile, MapResult, MapStats, RankedDefinition, RepoMap
from assistant.repo.repomap.parse import parse_counter
from assistant.repo.repomap.tokens import Estimator, estimate_tokens

__all__ = [
    "Estimator",
    "MapFile",
    "MapResult",
    "MapStats",
    "RankedDefinition",
    "RepoMap",
    "estimate_tokens",
    "parse_counter",
]
