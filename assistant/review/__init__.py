"""Pre-commit review: the staged diff (or a range, or work-tree paths) reviewed
by the local model, findings anchored to changed lines.

    repo = GitRepo.discover(Path.cwd())
    result = run_review(repo, DiffSpec(DiffMode.STAGED), make_reviewer)

Modules: `diff` (unified diff → hunks), `gitsource` (read-only git), `skip`
(lock/vendored/generated/binary), `context` (enclosing definitions),
`chunks` (fit the context), `prompt`/`chat` (prompt ids with a cacheable fixed
prefix), `findings` (schema, grammar, parsing), `anchor`, `model` (engine or
replayed answers), `runner`, `report`/`sarif`, `hook` (git hook management)."""

from assistant.review.findings import Category, Finding, Severity
from assistant.review.gitsource import DiffMode, DiffSpec, GitRepo
from assistant.review.runner import ReviewOptions, ReviewResult, run_review

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
