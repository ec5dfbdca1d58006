"""Which files of a repository the assistant looks at.

`list_repo_files(root)` is the one answer used by the repo map and by the
`list_files`/`search` tools: tracked plus untracked-not-ignored files when `root`
is in a git work tree (`git ls-files -co --exclude-standard`), a `.gitignore`-aware
walk otherwise; in both cases `.assistantignore` files (gitignore syntax) exclude
more, and binaries, huge files, minified bundles, vendored trees and lock files
are skipped. Symlinks are listed only when they point at a regular file inside the
root; symlinked directories are never entered, so there are no loops."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.fsutil import BINARY_SNIFF_BYTES, looks_binary
from assistant.repo.git import is_bare_repo, ls_files

HEAD_BYTES = BINARY_SNIFF_BYTES
IGNORE_FILE = ".assistantignore"

DEFAULT_SKIP_DIRS: frozenset[str] = frozenset(
    {"vendor", "node_modules", "third_party", "bower_components"}
)
# Never entered by the non-git walk (in git these are normally ignored anyway).
WALK_SKIP_DIRS: frozenset[str] = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", ".tox", ".mypy_cache", ".pytest_cache"}
)
LOCK_FILES: frozenset[str] = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "poetry.lock",
        "Cargo.lock",
        "uv.lock",
        "pnpm-lock.yaml",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
        "Pipfile.lock",
        "pdm.lock",
        "bun.lockb",
    }
)
MINIFIED_SUFFIXES: tuple[str, ...] = (".min.js", ".min.mjs", ".min.css", "-min.js", ".bundle.js")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RepoFilter:
    """What `list_repo_files` skips. Defaults suit source code."""

    max_bytes: int = 1_000_000
    max_line_length: int = 3000
    skip_dirs: frozenset[str] = DEFAULT_SKIP_DIRS
    skip_names: frozenset[str] = LOCK_FILES
    skip_binary: bool = True
    skip_minified: bool = True


@dataclass(frozen=True)
class RepoFile:
    """One listed file: posix path relative to the root, with the stat it was listed by."""

    path: str
    size: int
    mtime_ns: int


# ---------------------------------------------------------------- gitignore syntax


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def glob_to_regex(pattern: str) -> str:
    """Regex for the gitignore-style glob `pattern` (already stripped of `!`, slashes)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                at_start = i == 0 or pattern[i - 1] == "/"
                j = i + 2
                if at_start and (j == n or pattern[j] == "/"):
                    if j == n:  # trailing "/**": everything below
                        out.append(".*")
                        i = j
                    else:  # "**/": zero or more directories
                        out.append("(?:.*/)?")
                        i = j + 1
                    continue
                out.append("[^/]*")
                i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse_ignore_lines(lines: Iterable[str]) -> list[_Rule]:
    """Compile gitignore-syntax lines; blank lines and comments are dropped."""
    rules: list[_Rule] = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        # Trailing spaces are ignored unless escaped.
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = glob_to_regex(line)
        if not anchored:
            body = "(?:.*/)?" + body
        try:
            regex = re.compile(body + r"\Z", re.DOTALL)
        except re.error:
            continue
        rules.append(_Rule(regex, negate, dir_only))
    return rules


class IgnoreMatcher:
    """Per-directory ignore files (gitignore semantics: deeper files and later lines
    win; a file under an ignored directory stays ignored)."""

    def __init__(self) -> None:
        self._rules: dict[str, list[_Rule]] = {}  # directory ("" = root) -> rules
        self._dir_cache: dict[str, bool] = {}

    def add(self, directory: str, rules: list[_Rule]) -> None:
        if rules:
            self._rules.setdefault(directory, []).extend(rules)
            self._dir_cache.clear()

    def add_file(self, directory: str, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self.add(directory, parse_ignore_lines(text.splitlines()))

    def __bool__(self) -> bool:
        return bool(self._rules)

    def _verdict(self, path: str, is_dir: bool) -> bool | None:
        verdict: bool | None = None
        parts = path.split("/")
        for depth in range(len(parts)):
            directory = "/".join(parts[:depth])
            rules = self._rules.get(directory)
            if not rules:
                continue
            rel = "/".join(parts[depth:])
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(rel):
                    verdict = not rule.negate
        return verdict

    def dir_ignored(self, path: str) -> bool:
        cached = self._dir_cache.get(path)
        if cached is not None:
            return cached
        parent, _, _ = path.rpartition("/")
        result = (bool(parent) and self.dir_ignored(parent)) or bool(self._verdict(path, True))
        self._dir_cache[path] = result
        return result

    def ignored(self, path: str) -> bool:
        if not self._rules:
            return False
        parent, _, _ = path.rpartition("/")
        if parent and self.dir_ignored(parent):
            return True
        return bool(self._verdict(path, False))


# ---------------------------------------------------------------- content checks


def _head(path: Path | str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError:
        return None


def is_binary(path: Path | str) -> bool:
    """True when the first 8 KB hold a NUL byte (git's own heuristic)."""
    head = _head(path)
    return head is None or looks_binary(head)


def _looks_minified(name: str, head: bytes, max_line_length: int) -> bool:
    if name.endswith(MINIFIED_SUFFIXES):
        return True
    if len(head) <= max_line_length:
        return False
    return max(map(len, head.split(b"\n"))) > max_line_length


def _content_ok(full: str, name: str, flt: RepoFilter) -> bool:
    if not (flt.skip_binary or flt.skip_minified):
        return True
    head = _head(full)
    if head is None:
        return False
    if flt.skip_binary and looks_binary(head):
        return False
    return not (flt.skip_minified and _looks_minified(name, head, flt.max_line_length))


# ---------------------------------------------------------------- listing


def _walk(root: Path, matcher: IgnoreMatcher, flt: RepoFilter) -> Iterator[str]:
    """Depth-first walk honouring `.gitignore`/`.assistantignore`; no symlinked dirs."""
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else str(root)
        for ignore_name in (".gitignore", IGNORE_FILE):
            ignore_path = os.path.join(abs_dir, ignore_name)
            if os.path.isfile(ignore_path):
                matcher.add_file(rel_dir, Path(ignore_path))
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError:
            continue
        subdirs: list[str] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in WALK_SKIP_DIRS or entry.name in flt.skip_dirs:
                    continue
                if matcher.dir_ignored(rel):
                    continue
                subdirs.append(rel)
            elif not matcher.ignored(rel):
                yield rel
        stack.extend(reversed(subdirs))


def _inside(root_real: str, target: str) -> bool:
    return target == root_real or target.startswith(root_real.rstrip(os.sep) + os.sep)


def scan_repo_files(
    root: Path,
    flt: RepoFilter | None = None,
    *,
    include: Callable[[str], bool] | None = None,
    progress: Progress | None = None,
) -> list[RepoFile]:
    """Listed files with their size and mtime, sorted by path.

    `include` is a cheap name predicate applied before any stat or read (the repo
    map passes "has a known source extension"); `progress(done, total)` is called
    every few hundred files on large repositories."""
    flt = flt or RepoFilter()
    root = Path(root)
    if not root.is_dir():
        return []
    root_real = os.path.realpath(root)
    matcher = IgnoreMatcher()
    candidates = ls_files(root)
    if candidates is None:
        if is_bare_repo(root):
            return []
        candidates = sorted(_walk(root, matcher, flt))
    else:
        root_ignore = root / IGNORE_FILE
        if root_ignore.is_file():
            matcher.add_file("", root_ignore)
        for name in candidates:
            if name.endswith(IGNORE_FILE) and "/" in name:
                directory, _, base = name.rpartition("/")
                if base == IGNORE_FILE:
                    matcher.add_file(directory, root / name)
    skip_dirs = flt.skip_dirs
    result: list[RepoFile] = []
    total = len(candidates)
    for index, rel in enumerate(candidates):
        if progress is not None and index % 500 == 0:
            progress(index, total)
        parts = rel.split("/")
        name = parts[-1]
        if name in flt.skip_names or ".git" in parts:
            continue
        if skip_dirs and not skip_dirs.isdisjoint(parts[:-1]):
            continue
        if include is not None and not include(rel):
            continue
        if matcher and matcher.ignored(rel):
            continue
        full = os.path.join(root_real, rel)
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                if not _inside(root_real, target):
                    continue
                st = os.stat(target)
        except (OSError, ValueError):
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size > flt.max_bytes:
            continue
        if st.st_size and not _content_ok(full, name, flt):
            continue
        result.append(RepoFile(rel, st.st_size, st.st_mtime_ns))
    if progress is not None:
        progress(total, total)
    return result


def list_repo_files(
    root: Path,
    max_bytes: int = 1_000_000,
    *,
    flt: RepoFilter | None = None,
    include: Callable[[str], bool] | None = None,
    progress: Progress | None = None,
) -> list[str]:
    """Sorted posix paths, relative to `root`, of the files worth showing a model."""
    if flt is None:
        flt = RepoFilter(max_bytes=max_bytes)
    return [f.path for f in scan_repo_files(root, flt, include=include, progress=progress)]


__all__ = [
    "IGNORE_FILE",
    "LOCK_FILES",
    "IgnoreMatcher",
    "RepoFile",
    "RepoFilter",
    "is_binary",
    "list_repo_files",
    "parse_ignore_lines",
    "scan_repo_files",
]
