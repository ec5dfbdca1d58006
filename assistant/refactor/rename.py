"""`rename OLD NEW`: from a target and a new name to the changed files (a plan),
with no model. The plan is computed without writing; `apply.py` writes it.

Python is analysed with its scope rules (python_rename); JavaScript/TypeScript,
Go and Rust by their syntax trees only (tagged_rename). Both are built on the repo
map's tree-sitter grammars."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.refactor.errors import RenameRefused
from assistant.refactor.python_project import PythonProject
from assistant.refactor.python_rename import (
    Occurrence,
    SymbolPlan,
    close_names,
    find_target,
    plan_symbol,
)
from assistant.refactor.sources import Sources
from assistant.refactor.target import (
    PYTHON_RESERVED,
    Candidate,
    TargetSpec,
    check_new_name,
    parse_target,
)
from assistant.repo.languages import language_for

MAX_CANDIDATES_SHOWN = 12


@dataclass(frozen=True)
class FileChange:
    rel: str
    before: bytes
    after: bytes
    count: int  # occurrences renamed
    lines: tuple[int, ...]


@dataclass
class RenamePlan:
    old: str
    new: str
    language: str
    target: Candidate
    changes: list[FileChange]
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(c.count for c in self.changes)

    def summary(self) -> str:
        files = len(self.changes)
        return (
            f"rename {self.target.kind} {self.target.qual} ({self.target.rel}:"
            f"{self.target.line}) to {self.new}: {self.count} occurrence"
            f"{'s' if self.count != 1 else ''} in {files} file{'s' if files != 1 else ''}"
        )

    def diff(self) -> str:
        from assistant.tools.context import unified_diff

        return "".join(
            unified_diff(c.rel, c.before.decode("utf-8"), c.after.decode("utf-8"))
            for c in self.changes
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "language": self.language,
            "target": {
                "path": self.target.rel,
                "line": self.target.line,
                "qualified_name": self.target.qual,
                "kind": self.target.kind,
            },
            "occurrences": self.count,
            "files": [
                {"path": c.rel, "occurrences": c.count, "lines": list(c.lines)}
                for c in self.changes
            ],
            "notes": self.notes,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def _apply_occurrences(data: bytes, new: bytes, spans: list[Occurrence]) -> bytes:
    out = bytearray()
    pos = 0
    for occ in sorted(spans, key=lambda o: o.start):
        if occ.start < pos:
            continue
        out += data[pos : occ.start] + new
        pos = occ.end
    out += data[pos:]
    return bytes(out)


def changes_of(sources: Sources, new: str, occurrences: list[Occurrence]) -> list[FileChange]:
    by_file: dict[str, list[Occurrence]] = {}
    for occ in occurrences:
        by_file.setdefault(occ.rel, []).append(occ)
    changes = []
    for rel in sorted(by_file):
        before = sources.read(rel)
        if before is None:
            continue
        spans = by_file[rel]
        after = _apply_occurrences(before, new.encode("utf-8"), spans)
        if after != before:
            lines = tuple(sorted({o.line for o in spans}))
            changes.append(FileChange(rel, before, after, len(spans), lines))
    return changes


def _refuse_candidates(spec: TargetSpec, candidates: list[Candidate], closest: list[str]) -> None:
    if not candidates:
        hint = f"; did you mean {', '.join(closest)}?" if closest else ""
        raise RenameRefused(f"{spec.text} is not defined in this repository{hint}")
    shown = sorted(candidates, key=lambda c: (c.rel, c.line))
    listing = "\n  ".join(c.describe() for c in shown[:MAX_CANDIDATES_SHOWN])
    more = len(shown) - MAX_CANDIDATES_SHOWN
    raise RenameRefused(
        f"{spec.text} names {len(shown)} different definitions; say which one with "
        f"FILE::Qual.name, FILE:LINE[:COL] or a PATH:\n  {listing}"
        + (f"\n  … and {more} more" if more > 0 else "")
    )


def plan_rename(
    root: Path,
    old: str,
    new: str,
    paths: list[str] | None = None,
    *,
    sources: Sources | None = None,
) -> RenamePlan:
    """What renaming OLD to NEW would change. Raises RenameRefused (nothing to
    write) with the reason. `paths` are repo-relative."""
    spec = parse_target(old)
    sources = sources or Sources(root)
    files = sources.list_files()
    narrow = [p.strip("/") for p in (paths or []) if p.strip("/") not in ("", ".")]
    language = _language(spec, files, narrow)
    if language == "python":
        return _plan_python(sources, spec, new, files, narrow)
    from assistant.refactor.tagged_rename import plan_tagged

    return plan_tagged(sources, spec, new, files, narrow, language)


def _language(spec: TargetSpec, files: list[str], narrow: list[str]) -> str:
    from assistant.refactor.tagged_rename import family

    if spec.path:
        lang = language_for(spec.path)
        if lang is None:
            raise RenameRefused(f"{spec.path}: rename does not know this language")
        return family(lang)
    langs = {family(lang) for p in narrow if (lang := language_for(p)) is not None}
    if len(langs) == 1:
        return langs.pop()
    # a bare name: Python when a Python file holds it, else the one other language
    return "python"


def _plan_python(
    sources: Sources, spec: TargetSpec, new: str, files: list[str], narrow: list[str]
) -> RenamePlan:
    py_files = [f for f in files if language_for(f) == "python"]
    project = PythonProject(py_files, sources.read)
    if spec.line and spec.path not in set(py_files):
        raise RenameRefused(f"{spec.path} is not a Python file of this repository")
    if spec.name:
        word = spec.name.encode("utf-8")
        holding = [f for f in py_files if word in (sources.read(f) or b"")]
        found = find_target(project, spec, holding, narrow)
    else:
        found = find_target(project, spec, [], narrow)
    if isinstance(found, list):
        closest = [] if found else close_names(project, spec.name, py_files)
        if not found:
            from assistant.refactor.tagged_rename import other_language_definition

            other = other_language_definition(sources, spec, files, narrow)
            if other is not None:
                from assistant.refactor.tagged_rename import plan_tagged

                return plan_tagged(sources, spec, new, files, narrow, other)
        _refuse_candidates(spec, found, closest)
        raise AssertionError("unreachable")
    target = found
    if not spec.path and not narrow:
        from assistant.refactor.tagged_rename import other_language_definition

        other = other_language_definition(sources, spec, files, narrow)
        if other is not None:
            raise RenameRefused(
                f"{spec.text} is defined in python and {other} files "
                f"({target.rel}:{target.line} and others); name one with FILE::name or a PATH"
            )
    old_name = target.key.name  # type: ignore[attr-defined]
    check_new_name(new, PYTHON_RESERVED)
    if new == old_name:
        raise RenameRefused(f"{old_name} is already called {new}; nothing to do")
    word = old_name.encode("utf-8")
    holding = [f for f in py_files if word in (sources.read(f) or b"")]
    for f in [f for f in py_files if new.encode("utf-8") in (sources.read(f) or b"")]:
        project.parse(f)  # for the clash checks
    plan: SymbolPlan = plan_symbol(project, target, new, holding)
    changes = changes_of(sources, new, plan.occurrences)
    notes = sources.notes(old_name) + plan.notes
    return RenamePlan(old_name, new, "python", target, changes, notes)


__all__ = ["FileChange", "RenamePlan", "changes_of", "plan_rename"]
