"""Real temporary git repositories for the rename tests (no mocks)."""

from __future__ import annotations

from pathlib import Path

from assistant.refactor.rename import RenamePlan, plan_rename
from tests.tools.conftest import git, init_repo, snapshot

__all__ = ["git", "init_repo", "rename_texts", "snapshot"]


def rename_texts(
    root: Path, old: str, new: str, paths: list[str] | None = None
) -> tuple[dict[str, str], RenamePlan]:
    """Every Python/JS/Go/Rust file of `root` as the rename would leave it (nothing
    is written), and the plan."""
    plan = plan_rename(root, old, new, paths)
    after = {c.rel: c.after.decode("utf-8") for c in plan.changes}
    return after, plan


from tests.agent.conftest import demo_repo  # noqa: E402, F401 (a fixture, re-exported)
