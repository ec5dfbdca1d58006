"""Real inference: the tiny random Gemma 4 under the findings grammar, and the
prefix cache (disk across processes, memory across chunks of one run)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.llm.engine import CancelToken, SamplingParams, common_prefix_length
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.trace import read_trace
from assistant.review.findings import Limits, findings_schema
from assistant.review.gitsource import DiffMode, DiffSpec, GitRepo
from assistant.review.model import LlamaReviewer, Reply, Reviewer, ReviewRequest
from assistant.review.runner import ReviewOptions, collect_files, run_review
from tests.conftest import ENGINE_THREADS
from tests.review.conftest import commit_all, git, run_cli, write

STAGED = DiffSpec(DiffMode.STAGED)


class KeepOpen(LlamaReviewer):
    """One engine for many reviews (the runner closes its reviewer); keeps the
    raw answers."""

    answers: list[str]

    def review(self, request: ReviewRequest, cancel: CancelToken | None = None) -> Reply:
        reply = super().review(request, cancel)
        self.answers = [*getattr(self, "answers", []), reply.text]
        return reply

    def close(self) -> None:
        pass


def _check_schema(item: dict[str, object], files: list[str]) -> None:
    schema = findings_schema(files)["properties"]["findings"]["items"]
    assert set(item) <= set(schema["properties"]) and set(schema["required"]) <= set(item)
    assert item["file"] in files
    assert isinstance(item["line"], int) and isinstance(item["end_line"], int)
    assert item["severity"] in schema["properties"]["severity"]["enum"]
    assert item["category"] in schema["properties"]["category"]["enum"]
    assert isinstance(item["message"], str) and item["message"].strip()


@pytest.mark.slow
def test_twenty_reviews_with_tiny_gemma4_are_schema_valid_and_anchored(
    tiny_gemma4_path: Path, git_repo: Path
) -> None:
    engine = LlamaEngine.load(
        tiny_gemma4_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=4096, seed=0)
    )
    # min_findings=1: a random model would otherwise mostly answer with an
    # empty list, and anchoring would go untested.
    # Short bounds keep the random model's answers (and the test) short.
    limits = Limits(
        max_findings=1,
        min_findings=1,
        max_message_chars=8,
        max_suggestion_chars=0,
        max_line_digits=2,  # lines 1-99, where the changes are
    )
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(40))
    write(git_repo, {"src/calc.py": body})
    commit_all(git_repo)
    kept = dropped = 0
    started = time.monotonic()
    try:
        for i in range(20):
            # Two neighbouring functions changed, a different pair each time.
            changed = body.replace(f"x + {i}\n", f"x * {i} - 1\n")
            changed = changed.replace(f"x + {i + 1}\n", f"x - {i + 1}\n")
            write(git_repo, {"src/calc.py": changed})
            git(git_repo, "add", "-A")
            reviewer = KeepOpen(engine, limits, 256, SamplingParams(temperature=1.0, seed=i))

            def make(reviewer: Reviewer = reviewer) -> Reviewer:
                return reviewer

            options = ReviewOptions(timeout=None, repo_map=False, limits=limits)
            result = run_review(GitRepo(git_repo), STAGED, make, options)
            assert result.incomplete is None and result.invalid == 0 and result.bad_answers == 0
            (answer,) = reviewer.answers
            items = json.loads(answer)["findings"]  # the raw answer is valid JSON
            assert len(items) == 1
            for item in items:
                _check_schema(item, ["src/calc.py"])
            (review_file,), _ = collect_files(GitRepo(git_repo), STAGED)
            for f in result.findings:
                assert any(
                    h.contains(f.line) and h.contains(f.end_line) for h in review_file.diff.hunks
                )
            kept += len(result.findings)
            dropped += result.dropped_outside_diff
    finally:
        engine.close()
    assert kept + dropped >= 20
    print(
        f"tiny gemma4: 20 reviews in {time.monotonic() - started:.0f} s: "
        f"{kept} findings kept, {dropped} dropped outside the diff"
    )


def test_prefix_state_is_loaded_from_disk_and_shared_across_chunks(
    tiny_gemma4_path: Path, git_repo: Path, tmp_path: Path
) -> None:
    write(git_repo, {"a.py": "def a():\n    return 1\n", "b.py": "def b():\n    return 2\n"})
    commit_all(git_repo)
    write(git_repo, {"a.py": "def a():\n    return 10\n", "b.py": "def b():\n    return 20\n"})
    git(git_repo, "add", "-A")
    args = ["review", "--staged", "--model", str(tiny_gemma4_path), "--ctx", "4096"]
    # The answer does not matter here: stop after a few tokens.
    args += ["--max-answer-tokens", "4", "--format", "json", "--fail-on", "never"]
    cache = ["--cache-dir", str(tmp_path / "prefix-cache")]
    first = run_cli(git_repo, *args, *cache, "--trace", str(tmp_path / "t1.jsonl"), timeout=300)
    assert first.returncode == 0, first.stderr
    assert "trace: a.py: prompt" in first.stderr
    second = run_cli(git_repo, *args, *cache, "--trace", str(tmp_path / "t2.jsonl"), timeout=300)
    assert second.returncode == 0, second.stderr
    t1, t2 = read_trace(tmp_path / "t1.jsonl"), read_trace(tmp_path / "t2.jsonl")
    assert len(t1) == len(t2) == 2  # one chunk per file
    boundary = t2[0]["loaded_tokens"]
    # Run 2, a new process: the fixed prefix (instructions, schema) comes from
    # the disk cache; it is the part every chunk shares.
    assert isinstance(boundary, int) and 500 < boundary <= _common_prefix_len(t1)
    # Run 1: the second file re-uses the fixed prefix already in the KV cache.
    reused = t1[1]["reused_tokens"]
    assert t1[0]["loaded_tokens"] == 0 and isinstance(reused, int) and reused >= boundary
    prompt_tokens = t2[0]["prompt_tokens"]
    assert isinstance(prompt_tokens, int)
    assert t2[0]["evaluated_tokens"] == prompt_tokens - boundary
    assert f"{boundary} from the disk prefix cache" in second.stderr
    data = json.loads(second.stdout)
    assert data["summary"]["prefix_cache_tokens"] == boundary
    # --no-prefix-cache: everything evaluated.
    third = run_cli(
        git_repo, *args, "--no-prefix-cache", "--trace", str(tmp_path / "t3.jsonl"), timeout=300
    )
    assert third.returncode == 0, third.stderr
    assert read_trace(tmp_path / "t3.jsonl")[0]["loaded_tokens"] == 0


def _common_prefix_len(trace: list[dict[str, object]]) -> int:
    a, b = trace[0]["prompt_ids"], trace[1]["prompt_ids"]
    assert isinstance(a, list) and isinstance(b, list)
    return common_prefix_length(a, b)
