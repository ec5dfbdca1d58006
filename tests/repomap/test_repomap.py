from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assistant.repo.repomap import RepoMap, parse_counter
from assistant.repo.repomap.tokens import Estimator, estimate_tokens
from tests.repomap.conftest import MakeRepo, git, multilang_files
from tests.repomap.samples import SAMPLES


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    return make_repo(multilang_files())


def shown(result_files: list, path: str) -> bool:  # type: ignore[type-arg]
    return any(f.path == path for f in result_files)


def test_map_covers_all_languages(repo: Path, tmp_path: Path) -> None:
    result = RepoMap(repo, cache_path=tmp_path / "c.sqlite").build(20_000, include_focus=True)
    paths = {f.path for f in result.files}
    for lang, sample in SAMPLES.items():
        assert f"{lang}/{sample.filename}" in paths
    assert result.stats.total_files == len(SAMPLES) + 7
    assert "class QueryEngine" in result.text
    assert "return" not in result.text  # bodies elided


def test_chat_references_rank_higher(repo: Path, tmp_path: Path) -> None:
    rm = RepoMap(repo, cache_path=tmp_path / "c.sqlite")
    result = rm.build(2000, focus_files=["pkg/chat.py"])
    order = [f.path for f in result.files]
    assert order[0] == "pkg/widgets.py"
    assert "pkg/chat.py" not in order  # the model already sees it
    ranks = {f.path: f.rank for f in result.files}
    assert ranks["pkg/widgets.py"] > ranks.get("pkg/lonely.py", 0.0)
    other = rm.build(2000, focus_files=["pkg/app.py"])
    assert other.files[0].path == "pkg/engine.py"
    assert other.files[0].definitions[0].name in {"execute_query", "create_engine", "QueryEngine"}


def test_mentions_pull_definitions(repo: Path, tmp_path: Path) -> None:
    rm = RepoMap(repo, cache_path=tmp_path / "c.sqlite")
    result = rm.build(60, mentions=["what does solitary_method do?"])
    assert result.files[0].path == "pkg/lonely.py"
    assert "solitary_method" in result.text


@pytest.mark.parametrize("budget", [64, 200, 500, 1000])
def test_budget_fit_with_a_real_counter(make_repo: MakeRepo, tmp_path: Path, budget: int) -> None:
    files: dict[str, str | bytes] = {}
    for i in range(40):
        body = "".join(
            f"def function_{i}_{j}(alpha, beta_{j}):\n    return helper_{(i + 1) % 40}_{j}()\n\n"
            for j in range(10)
        )
        body += "".join(f"def helper_{i}_{j}():\n    return {j}\n\n" for j in range(10))
        files[f"mod{i:02}.py"] = body
    root = make_repo(files)

    def count(text: str) -> int:  # a stand-in tokenizer: words and punctuation
        import re

        return len(re.findall(r"\w+|[^\w\s]", text))

    result = RepoMap(root, cache_path=tmp_path / "c.sqlite", count_tokens=count).build(budget)
    assert result.tokens == count(result.text)
    assert budget * 0.95 <= result.tokens <= budget


def test_estimate_budget_fit(repo: Path, tmp_path: Path) -> None:
    result = RepoMap(repo, cache_path=tmp_path / "c.sqlite").build(150)
    assert 0.95 * 150 <= result.tokens <= 150
    assert result.tokens == estimate_tokens(result.text)
    calibrated = Estimator.calibrated(lambda t: 2 * estimate_tokens(t), ["def f(x): pass"])
    assert 1.9 < calibrated.scale < 2.1


def test_warm_call_parses_nothing_unchanged(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    parse_counter.reset()
    cold = RepoMap(cache_path=cache, root=repo).build(1000)
    n_files = cold.stats.total_files
    assert parse_counter.value == n_files == cold.stats.parsed_files
    parse_counter.reset()
    warm = RepoMap(repo, cache_path=cache).build(1000)  # a fresh instance: disk cache
    assert parse_counter.value == 0 and warm.stats.parsed_files == 0
    assert warm.stats.graph_reused
    assert warm.text == cold.text
    # Change one file: only it is parsed again.
    target = repo / "pkg" / "util.py"
    target.write_text(target.read_text() + "\ndef brand_new_function() -> None:\n    pass\n")
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10_000_000))
    rm = RepoMap(repo, cache_path=cache)
    changed = rm.build(1000, mentions=["brand_new_function"])
    assert parse_counter.value == 1 and changed.stats.parsed_files == 1
    assert "brand_new_function" in changed.text
    # Delete one: nothing parsed, and it is gone from the map.
    (repo / "pkg" / "lonely.py").unlink()
    parse_counter.reset()
    after = rm.build(5000)
    assert parse_counter.value == 0
    assert not shown(after.files, "pkg/lonely.py")


def test_parallel_cold_parse(make_repo: MakeRepo, tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        f"m{i:03}.py": f"def func_{i}():\n    return func_{(i + 1) % 80}()\n" for i in range(80)
    }
    root = make_repo(files)
    parse_counter.reset()
    result = RepoMap(root, cache_path=tmp_path / "c.sqlite").build(300)
    assert parse_counter.value == 80
    assert result.stats.parsed_files == 80 and result.tokens > 0


def test_corrupt_cache_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    first = RepoMap(repo, cache_path=cache).build(500)
    cache.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(cache) + suffix).unlink(missing_ok=True)
    again = RepoMap(repo, cache_path=cache).build(500)
    assert again.text == first.text
    assert again.stats.parsed_files == again.stats.total_files
    warm = RepoMap(repo, cache_path=cache).build(500)
    assert warm.stats.parsed_files == 0


def test_unwritable_cache_falls_back_to_memory(repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = RepoMap(repo, cache_path=blocker / "sub" / "c.sqlite").build(200)
    assert result.tokens > 0


def test_empty_and_bare_repos(make_repo: MakeRepo, tmp_path: Path) -> None:
    empty = make_repo({}, commit=False)
    result = RepoMap(empty, cache_path=tmp_path / "e.sqlite").build(500)
    assert result.text == "" and result.tokens == 0 and result.files == []
    bare = tmp_path / "bare.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare")
    assert RepoMap(bare, cache_path=tmp_path / "b.sqlite").build(500).files == []


def test_bad_files(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo(
        {
            "broken.py": "def fine_one():\n    pass\n\ndef broken(:\n",
            "latin.py": "# caf\xe9\ndef latin_func():\n    pass\n".encode("latin-1"),
            "binary.py": b"def x():\x00\n",
            "ok.py": "from broken import fine_one\nfine_one()\nlatin_func()\n",
        }
    )
    os.symlink(".", root / "loop")
    result = RepoMap(root, cache_path=tmp_path / "c.sqlite").build(500, include_focus=True)
    assert "fine_one" in result.text and "latin_func" in result.text
    assert result.stats.parse_errors >= 1
    assert "binary.py" not in result.text


def test_json_shape(repo: Path, tmp_path: Path) -> None:
    data = RepoMap(repo, cache_path=tmp_path / "c.sqlite").build(300).to_json()
    assert set(data) >= {"tokens", "files", "stats", "text"}
    first = data["files"][0]
    assert set(first) == {"path", "rank", "definitions"}
    assert set(first["definitions"][0]) == {
        "name",
        "kind",
        "line",
        "end_line",
        "signature",
        "score",
    }


def test_scale_many_files(tmp_path: Path) -> None:
    """50,000 files, a thousand of them source: bounded work, progress reported."""
    root = tmp_path / "big"
    for d in range(50):
        sub = root / f"pkg{d:02}"
        sub.mkdir(parents=True)
        for f in range(980):
            (sub / f"data{f:03}.txt").write_bytes(b"")
        for f in range(20):
            (sub / f"mod{f:02}.py").write_text(
                f"def f_{d}_{f}():\n    return f_{d}_{(f + 1) % 20}()\n"
            )
    phases: set[str] = set()
    rm = RepoMap(
        root, cache_path=tmp_path / "c.sqlite", progress=lambda p, done, total: phases.add(p)
    )
    result = rm.build(1000)
    assert result.stats.total_files == 1000
    assert {"scan", "parse"} <= phases
    start = time.perf_counter()
    warm = RepoMap(root, cache_path=tmp_path / "c.sqlite").build(1000)
    assert warm.stats.parsed_files == 0
    assert time.perf_counter() - start < 10
