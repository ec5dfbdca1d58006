"""Read-only access to what a review looks at: the diff and the new side's content.

Three sources: the index against HEAD (`--staged`), two revisions
(`--range A..B`), or the work tree against HEAD (paths). Every git call here is
read-only and goes through `assistant.repo.git` (GIT_OPTIONAL_LOCKS=0), so a
review never rewrites the index (not even its stat cache) nor touches the work tree."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UsageError
from assistant.repo.git import GitError, git_text, require_repo_root, run_git


class DiffMode(enum.Enum):
    STAGED = "staged"
    RANGE = "range"
    WORKTREE = "worktree"


@dataclass(frozen=True)
class DiffSpec:
    mode: DiffMode
    base: str | None = None  # old side (a revision); None: HEAD or the empty tree
    target: str | None = None  # new side revision (RANGE only)
    merge_base: bool = False  # A...B
    paths: tuple[str, ...] = ()

    @classmethod
    def parse_range(cls, text: str, paths: tuple[str, ...] = ()) -> DiffSpec:
        """`A..B`, `A...B`, `A..` (to HEAD) or a lone `A` (meaning A..HEAD)."""
        sep = "..." if "..." in text else ".."
        if sep in text:
            base, _, target = text.partition(sep)
        else:
            base, target = text, ""
        if not base:
            raise UsageError(f"--range {text!r}: give the old side, e.g. main..HEAD")
        return cls(DiffMode.RANGE, base, target or "HEAD", sep == "...", paths)


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def discover(cls, start: Path) -> GitRepo:
        return cls(require_repo_root(start))

    def run(self, *args: str, check: bool = True) -> str:
        if check:
            return git_text(self.root, *args)
        return run_git(self.root, *args).text

    def run_bytes(self, *args: str) -> bytes | None:
        result = run_git(self.root, *args)
        return result.stdout if result.ok else None

    def resolve(self, rev: str) -> str | None:
        out = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        return out.strip() or None

    def empty_tree(self) -> str:
        # Not hard-coded: a SHA-256 repository has a different empty tree id.
        return self.run("hash-object", "-t", "tree", "/dev/null").strip()

    def has_head(self) -> bool:
        return self.resolve("HEAD") is not None

    def diff_text(self, spec: DiffSpec, context_lines: int = 3) -> str:
        args = [
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-relative",
            "--find-renames",
            f"--unified={context_lines}",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--submodule=short",
        ]
        if spec.mode is DiffMode.RANGE:
            assert spec.base is not None and spec.target is not None
            for rev in (spec.base, spec.target):
                if self.resolve(rev) is None:
                    raise UsageError(f"--range: {rev!r} is not a commit in this repository")
            sep = "..." if spec.merge_base else ".."
            args.append(f"{spec.base}{sep}{spec.target}")
        else:
            if spec.mode is DiffMode.STAGED:
                args.append("--cached")
            # A repository without commits compares against the empty tree.
            args.append("HEAD" if self.has_head() else self.empty_tree())
        args.append("--")
        args.extend(spec.paths)
        return self.run(*args)

    def new_content(self, spec: DiffSpec, path: str) -> bytes | None:
        """The file as the change leaves it (index, target revision or work tree)."""
        if spec.mode is DiffMode.STAGED:
            return self.run_bytes("show", f":{path}")
        if spec.mode is DiffMode.RANGE:
            return self.run_bytes("show", f"{spec.target}:{path}")
        try:
            return (self.root / path).read_bytes()
        except OSError:
            return None

    def attributes(self, paths: list[str], names: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """`git check-attr` values that are set (e.g. linguist-generated)."""
        if not paths:
            return {}
        result = run_git(
            self.root,
            "check-attr",
            "-z",
            "--stdin",
            *names,
            input="\0".join(paths).encode("utf-8", "surrogateescape") + b"\0",
        )
        out: dict[str, dict[str, str]] = {}
        if not result.ok:
            return out
        fields = result.stdout.decode("utf-8", "replace").split("\0")
        for i in range(0, len(fields) - 2, 3):
            path, name, value = fields[i], fields[i + 1], fields[i + 2]
            if value != "unspecified":
                out.setdefault(path, {})[name] = value
        return out


__all__ = ["DiffMode", "DiffSpec", "GitError", "GitRepo"]
