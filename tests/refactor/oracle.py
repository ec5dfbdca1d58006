"""Compare `assistant rename` with rope (an oracle no one here wrote) on real code.

The projects are pinned sdists from PyPI (`pip download --no-deps --no-binary
:all:`), cached in ~/.cache/assistant-test-sdists (ASSISTANT_TEST_SDISTS
overrides), unpacked into a temporary git repository.

The names are chosen by this script, not by hand: every module-level function,
class, method and module-level variable that Python's own `ast` finds in the
package (dunder names left out: renaming `__init__` or `__all__` changes what
Python does, not just a name), ordered by a hash of `file::qualname`, the first
N of each kind. NEW is OLD + "_rn", which clashes with nothing.

Each rename is computed by both tools in memory from the same pristine tree:
ours through `plan_rename` with the `FILE::Qual.name` form, rope through
`Rename(project, resource, offset).get_changes(new, docs=False)` at the offset
of the same definition (rope's own way to designate a target). The results
(file -> new text) are compared file by file.

    python -m tests.refactor.oracle [requests|click] [--per-kind N] [-v]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECTS: dict[str, tuple[str, str]] = {
    # name: (pip requirement, package directory inside the sdist)
    "requests": ("requests==2.32.3", "src/requests"),
    "click": ("click==8.1.7", "src/click"),
}
KINDS = ("function", "class", "method", "variable")


def cache_dir() -> Path:
    env = os.environ.get("ASSISTANT_TEST_SDISTS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "assistant-test-sdists"


def fetch_sdist(requirement: str, cache: Path | None = None) -> Path:
    """The sdist archive of `requirement` (name==version), downloaded once."""
    cache = cache or cache_dir()
    name, _, version = requirement.partition("==")
    for found in sorted(cache.glob(f"{name}-{version}.tar.gz")):
        return found
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-q",
            "-d",
            str(cache),
            requirement,
        ],
        check=True,
    )
    found = sorted(cache.glob(f"{name}-{version}.tar.gz"))
    if not found:
        raise RuntimeError(f"pip download gave no {name}-{version}.tar.gz in {cache}")
    return found[0]


def make_repo(project: str, dest: Path) -> Path:
    """The project's package unpacked into `dest` as a fresh git repository."""
    requirement, _ = PROJECTS[project]
    archive = fetch_sdist(requirement)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    (top,) = [p for p in dest.iterdir() if p.is_dir()]
    repo = dest / "repo"
    shutil.move(str(top), repo)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "sdist"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


@dataclass(frozen=True)
class Pick:
    kind: str
    rel: str
    qual: str
    offset: int  # character offset of the defined name (for rope)

    @property
    def name(self) -> str:
        return self.qual.rsplit(".", 1)[-1]

    @property
    def spec(self) -> str:
        return f"{self.rel}::{self.qual}"


def _char_offset(text: str, line: int, byte_col: int) -> int:
    lines = text.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: line - 1])
    return start + len(lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8"))


def _name_offset(text: str, node: ast.AST, name: str, keyword: str) -> int:
    line = node.lineno  # type: ignore[attr-defined]
    src_line = text.splitlines()[line - 1]
    col = src_line.index(f"{keyword} {name}") + len(keyword) + 1
    return _char_offset(text, line, len(src_line[:col].encode("utf-8")))


def pick_names(repo: Path, package: str, per_kind: int) -> list[Pick]:
    found: dict[str, list[Pick]] = {kind: [] for kind in KINDS}
    for path in sorted((repo / package).rglob("*.py")):
        rel = path.relative_to(repo).as_posix()
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        seen_vars: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                kw = "def"
                found["function"].append(
                    Pick("function", rel, node.name, _name_offset(text, node, node.name, kw))
                )
            elif isinstance(node, ast.ClassDef):
                found["class"].append(
                    Pick("class", rel, node.name, _name_offset(text, node, node.name, "class"))
                )
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        found["method"].append(
                            Pick(
                                "method",
                                rel,
                                f"{node.name}.{item.name}",
                                _name_offset(text, item, item.name, "def"),
                            )
                        )
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id not in seen_vars:
                        seen_vars.add(target.id)
                        found["variable"].append(
                            Pick(
                                "variable",
                                rel,
                                target.id,
                                _char_offset(text, target.lineno, target.col_offset),
                            )
                        )
    picks: list[Pick] = []
    for kind in KINDS:
        # one pick per definition (typing.overload repeats a method)
        unique = {p.spec: p for p in reversed(found[kind])}
        cands = [p for p in unique.values() if not p.name.startswith("__")]
        cands.sort(key=lambda p: hashlib.sha1(p.spec.encode()).hexdigest())
        picks.extend(cands[:per_kind])
    return picks


@dataclass
class Outcome:
    pick: Pick
    ours: dict[str, str] = field(default_factory=dict)
    rope: dict[str, str] = field(default_factory=dict)
    ours_error: str = ""
    rope_error: str = ""

    @property
    def identical(self) -> bool:
        return not self.ours_error and not self.rope_error and self.ours == self.rope

    def differing_files(self) -> list[str]:
        return sorted(
            f for f in set(self.ours) | set(self.rope) if self.ours.get(f) != self.rope.get(f)
        )


def ours_rename(repo: Path, pick: Pick, new: str) -> dict[str, str]:
    from assistant.refactor.rename import plan_rename

    plan = plan_rename(repo, pick.spec, new)
    return {c.rel: c.after.decode("utf-8") for c in plan.changes}


class RopeRunner:
    def __init__(self, repo: Path) -> None:
        from rope.base.project import Project

        self.repo = repo
        # src layout: tell rope where the package lives, as pip would (our module
        # table finds it from the __init__.py files)
        self.project = Project(str(repo), ropefolder=None, source_folders=["src"])

    def rename(self, pick: Pick, new: str) -> dict[str, str]:
        from rope.refactor.rename import Rename

        resource = self.project.get_resource(pick.rel)
        changes = Rename(self.project, resource, pick.offset).get_changes(new, docs=False)
        out: dict[str, str] = {}
        for change in changes.changes:
            rel = change.resource.path
            out[rel] = change.new_contents
        # rope reports files whose text did not change too; keep only real changes
        return {
            rel: text
            for rel, text in out.items()
            if (self.repo / rel).read_text(encoding="utf-8") != text
        }

    def close(self) -> None:
        self.project.close()


def compare(repo: Path, picks: list[Pick]) -> list[Outcome]:
    rope = RopeRunner(repo)
    outcomes = []
    try:
        for pick in picks:
            new = pick.name + "_rn"
            outcome = Outcome(pick)
            try:
                outcome.ours = ours_rename(repo, pick, new)
            except Exception as exc:  # refusals are outcomes too
                outcome.ours_error = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
            try:
                outcome.rope = rope.rename(pick, new)
            except Exception as exc:
                outcome.rope_error = f"{type(exc).__name__}: {exc}"
            outcomes.append(outcome)
    finally:
        rope.close()
    return outcomes


def show_difference(outcome: Outcome, repo: Path) -> str:
    import difflib

    lines = [f"{outcome.pick.kind} {outcome.pick.spec}:"]
    if outcome.ours_error or outcome.rope_error:
        lines.append(f"  ours: {outcome.ours_error or 'ok'}; rope: {outcome.rope_error or 'ok'}")
    for rel in outcome.differing_files():
        base = (repo / rel).read_text(encoding="utf-8")
        ours = outcome.ours.get(rel, base).splitlines()
        rope = outcome.rope.get(rel, base).splitlines()
        for line in difflib.unified_diff(
            rope, ours, f"rope/{rel}", f"ours/{rel}", n=0, lineterm=""
        ):
            lines.append("  " + line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project", nargs="?", default="requests", choices=sorted(PROJECTS))
    parser.add_argument("--per-kind", type=int, default=30)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(args.project, Path(tmp))
        picks = pick_names(repo, PROJECTS[args.project][1], args.per_kind)
        start = time.perf_counter()
        outcomes = compare(repo, picks)
        same = sum(o.identical for o in outcomes)
        print(
            f"{args.project}: {same} identical of {len(outcomes)} renames "
            f"({time.perf_counter() - start:.1f} s)"
        )
        for kind in KINDS:
            of_kind = [o for o in outcomes if o.pick.kind == kind]
            print(f"  {kind}: {sum(o.identical for o in of_kind)}/{len(of_kind)}")
        for outcome in outcomes:
            if not outcome.identical:
                print(
                    show_difference(outcome, repo)
                    if args.verbose
                    else f"  differs: {outcome.pick.kind} {outcome.pick.spec}"
                )


if __name__ == "__main__":
    main()
