from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from assistant.repo.files import RepoFilter, is_binary, list_repo_files, parse_ignore_lines
from tests.repomap.conftest import MakeRepo, git, write

FILES: dict[str, str | bytes] = {
    "src/main.py": "print('hi')\n",
    "src/deep/mod.py": "x = 1\n",
    ".gitignore": "*.log\nbuild/\n",
    "debug.log": "noise\n",
    "build/out.py": "x = 1\n",
    "node_modules/lib/index.js": "module.exports = 1\n",
    "vendor/dep.go": "package dep\n",
    "third_party/x.c": "int x;\n",
    "package-lock.json": "{}\n",
    "poetry.lock": "x\n",
    "go.sum": "x\n",
    "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00",
    "dist.min.js": "var a=1;\n",
    "bundle.js": "var a=1;" * 1000,
    "big.txt": "x" * 50 + "\n",
    "secrets/key.txt": "k\n",
    ".assistantignore": "secrets/\n*.txt\n!keep.txt\n",
    "keep.txt": "kept\n",
    "docs/.assistantignore": "draft.md\n",
    "docs/draft.md": "d\n",
    "docs/final.md": "f\n",
}
EXPECTED = [
    ".assistantignore",
    ".gitignore",
    "docs/.assistantignore",
    "docs/final.md",
    "keep.txt",
    "src/deep/mod.py",
    "src/main.py",
]


def test_git_repo_listing(make_repo: MakeRepo) -> None:
    root = make_repo(FILES)
    write(root, {"src/untracked.py": "y = 2\n", "also.log": "ignored\n"})
    assert list_repo_files(root) == sorted([*EXPECTED, "src/untracked.py"])


def test_walk_without_git_matches(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    write(root, FILES)
    assert list_repo_files(root) == EXPECTED


def test_size_limit(make_repo: MakeRepo) -> None:
    root = make_repo({"small.py": "x = 1\n", "large.py": "x = 1\n" * 1000})
    assert list_repo_files(root, max_bytes=100) == ["small.py"]
    assert list_repo_files(root) == ["large.py", "small.py"]


def test_binary_detection(tmp_path: Path) -> None:
    (tmp_path / "b").write_bytes(b"abc\x00def")
    (tmp_path / "t").write_text("text only\n")
    assert is_binary(tmp_path / "b")
    assert not is_binary(tmp_path / "t")
    assert is_binary(tmp_path / "missing")


def test_symlinks_never_escape_or_loop(make_repo: MakeRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    root = make_repo({"a/real.py": "x = 1\n"})
    os.symlink(outside, root / "escape.py")
    os.symlink("a/real.py", root / "inside.py")
    os.symlink(".", root / "a" / "loop")
    os.symlink("..", root / "a" / "up")
    os.symlink("missing.py", root / "dangling.py")
    assert list_repo_files(root) == ["a/real.py", "inside.py"]
    shutil.rmtree(root / ".git")
    assert list_repo_files(root) == ["a/real.py", "inside.py"]


def test_empty_and_bare_repos(make_repo: MakeRepo, tmp_path: Path) -> None:
    empty = make_repo({}, commit=False)
    assert list_repo_files(empty) == []
    bare = tmp_path / "bare.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare")
    assert list_repo_files(bare) == []
    assert list_repo_files(tmp_path / "does-not-exist") == []


def test_subdirectory_root(make_repo: MakeRepo) -> None:
    root = make_repo(FILES)
    assert list_repo_files(root / "src") == ["deep/mod.py", "main.py"]


def test_gitignore_semantics() -> None:
    from assistant.repo.files import IgnoreMatcher

    m = IgnoreMatcher()
    m.add("", parse_ignore_lines(["/top.py", "**/gen/", "a/**/z.py", "*.py[co]", "!keep.pyc"]))
    m.add("sub", parse_ignore_lines(["local.py", "\\#hash"]))
    assert m.ignored("top.py") and not m.ignored("x/top.py")
    assert m.ignored("x/gen/f.py") and m.ignored("gen/f.py")
    assert m.ignored("a/z.py") and m.ignored("a/b/c/z.py")
    assert m.ignored("m.pyc") and not m.ignored("keep.pyc")
    assert m.ignored("sub/local.py") and not m.ignored("local.py")
    assert m.ignored("sub/#hash")


def test_filter_can_keep_everything(make_repo: MakeRepo) -> None:
    root = make_repo({"package-lock.json": "{}\n", "x.min.js": "a\n"})
    flt = RepoFilter(skip_names=frozenset(), skip_minified=False)
    assert list_repo_files(root, flt=flt) == ["package-lock.json", "x.min.js"]


def test_fifty_thousand_files(tmp_path: Path) -> None:
    root = tmp_path / "huge"
    for d in range(100):
        sub = root / f"d{d:03}"
        sub.mkdir(parents=True)
        for f in range(500):
            (sub / f"f{f:03}.txt").write_bytes(b"")
    seen: list[tuple[int, int]] = []
    start = time.perf_counter()
    files = list_repo_files(root, progress=lambda done, total: seen.append((done, total)))
    elapsed = time.perf_counter() - start
    assert len(files) == 50_000
    assert files == sorted(files)
    assert seen[-1] == (50_000, 50_000) and len(seen) > 10
    assert elapsed < 20
