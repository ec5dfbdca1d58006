"""Pre-commit review: the staged diff (or a range, or work-tree paths) reviewed
by the local model, findings anchored to changed lines.

    repo = GitRepo.discover(Path.cwd())
    result = run_review(repo, DiffSpec(DiffMode.STAGED), make_reviewer)

Modules: `diff` (unified diff → hunks), `gitsource` (read-only git), `skip`
(lock/vendored/generated/binary), `context` (enclosing definitions),
`chunks` (fit the context), `prompt`/`chat` (prompt ids with a cacheable fixed
prefix), `findings` (schema, grammar, parsing), `anchor`, `model` (engine or
replayed answers), `runner`, `report`/`sarif`, `hook` (git hook management)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.review.findings import Category, Finding, Severity
    from assistant.review.gitsource import DiffMode, DiffSpec, GitRepo
    from assistant.review.runner import ReviewOptions, ReviewResult, run_review

# Loaded on first use (PEP 562): `assistant hook` and the CLI's help import
# submodules of this package and must not pay for the runner.
_LAZY = {
    "Category": "findings",
    "Finding": "findings",
    "Severity": "findings",
    "DiffMode": "gitsource",
    "DiffSpec": "gitsource",
    "GitRepo": "gitsource",
    "ReviewOptions": "runner",
    "ReviewResult": "runner",
    "run_review": "runner",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'assistant.review' has no attribute {name!r}")
    return getattr(importlib.import_module(f"assistant.review.{_LAZY[name]}"), name)


__all__ = [
    "Category",
    "DiffMode",
    "DiffSpec",
    "Finding",
    "GitRepo",
    "ReviewOptions",
    "ReviewResult",
    "Severity",
    "run_review",
]
