"""Loading a suite: the layout of the aider polyglot benchmark's Python track
(Exercism's), so `--suite` can point at a checkout of it.

    <slug>/.docs/instructions.md        (+ introduction.md, instructions.append.md)
    <slug>/.meta/config.json            {"files": {"solution": [...], "test": [...], "example": [...]}}
    <slug>/<slug>.py                    the stub the model edits
    <slug>/<slug>_test.py               the tests

A checkout's root works too: its tasks are under python/exercises/practice/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UsageError

DOCS = ("introduction.md", "instructions.md", "instructions.append.md")
PRACTICE = Path("python") / "exercises" / "practice"


@dataclass(frozen=True)
class Task:
    slug: str
    directory: Path
    instructions: str
    solution: tuple[str, ...]  # files the model should change (relative to the task)
    tests: tuple[str, ...]
    example: tuple[str, ...] = ()  # reference solutions: never copied into the task repo


def suite_root(directory: Path) -> Path:
    """Where the task folders are: `directory` itself, or a benchmark checkout's
    python/exercises/practice."""
    for candidate in (directory / PRACTICE, directory / "exercises" / "practice", directory):
        if candidate.is_dir() and any(candidate.glob("*/.meta/config.json")):
            return candidate
    raise UsageError(f"{directory} holds no tasks (no <task>/.meta/config.json)")


def load_task(directory: Path) -> Task:
    config_path = directory / ".meta" / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        files = config["files"]
        solution = tuple(str(f) for f in files["solution"])
        tests = tuple(str(f) for f in files["test"])
        example = tuple(str(f) for f in files.get("example", ()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{config_path}: not a task config ({type(exc).__name__}: {exc})"
        ) from None
    if not solution or not tests:
        raise UsageError(f"{config_path}: files.solution and files.test must name files")
    for name in (*solution, *tests):
        path = (directory / name).resolve()
        if not path.is_relative_to(directory.resolve()) or not path.is_file():
            raise UsageError(f"{config_path}: {name} is not a file of the task")
    docs = directory / ".docs"
    parts = [(docs / n).read_text(encoding="utf-8").strip() for n in DOCS if (docs / n).is_file()]
    if not parts:
        raise UsageError(f"{directory}: no .docs/instructions.md")
    return Task(directory.name, directory, "\n\n".join(parts), solution, tests, example)


def load_suite(directory: Path) -> list[Task]:
    """Every task of the suite, sorted by slug."""
    root = suite_root(directory)
    return [load_task(p.parent.parent) for p in sorted(root.glob("*/.meta/config.json"))]
