from __future__ import annotations

from pathlib import Path

from assistant.repo.gitctx import cap, git_context
from tests.repomap.conftest import MakeRepo, git, write


def test_not_a_repo(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_context(plain) is None


def test_empty_repo(make_repo: MakeRepo) -> None:
    root = make_repo({}, commit=False)
    write(root, {"new.py": "x = 1\n"})
    git(root, "add", "new.py")
    ctx = git_context(root)
    assert ctx is not None
    assert ctx.empty and ctx.branch == "main" and ctx.head is None
    assert ctx.recent_commits == []
    assert "new.py" in ctx.status and "+x = 1" in ctx.staged_diff
    text = ctx.render()
    assert "no commits yet" in text and "Staged changes" in text


def test_status_diffs_and_commits(make_repo: MakeRepo) -> None:
    root = make_repo({"a.py": "a = 1\n", "b.py": "b = 1\n"})
    for i in range(7):
        write(root, {"a.py": f"a = {i + 2}\n"})
        git(root, "commit", "-qam", f"change number {i}")
    write(root, {"a.py": "a = 100\n", "b.py": "b = 2\n", "c.py": "new\n"})
    git(root, "add", "b.py")
    ctx = git_context(root)
    assert ctx is not None and ctx.branch == "main" and not ctx.detached
    assert len(ctx.recent_commits) == 5 and ctx.recent_commits[0].endswith("change number 6")
    assert "+b = 2" in ctx.staged_diff and "a = 100" not in ctx.staged_diff
    assert "+a = 100" in ctx.unstaged_diff
    assert "?? c.py" in ctx.status
    assert "Unstaged changes" in ctx.render()


def test_detached_head(make_repo: MakeRepo) -> None:
    root = make_repo({"a.py": "a = 1\n"})
    write(root, {"a.py": "a = 2\n"})
    git(root, "commit", "-qam", "second")
    git(root, "checkout", "-q", "--detach", "HEAD~1")
    ctx = git_context(root)
    assert ctx is not None and ctx.detached and ctx.branch is None
    assert "detached HEAD at" in ctx.render()


def test_caps(make_repo: MakeRepo) -> None:
    root = make_repo({"big.py": "".join(f"line_{i} = {i}\n" for i in range(2000))})
    write(root, {"big.py": "".join(f"line_{i} = {i + 1}\n" for i in range(2000))})
    for i in range(60):
        write(root, {f"untracked_{i}.txt": "x\n"})
    ctx = git_context(root, max_diff_chars=1000, max_status_lines=10)
    assert ctx is not None and ctx.truncated
    assert len(ctx.unstaged_diff) < 1100 and "more lines" in ctx.unstaged_diff
    assert ctx.status.count("\n") <= 11 and "more" in ctx.status
    text, cut = cap("a\nb\nc\n", 4)
    assert cut and text.startswith("a\nb\n")
    assert cap("short", 100) == ("short", False)


def test_bare_repo(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare")
    assert git_context(bare) is None
