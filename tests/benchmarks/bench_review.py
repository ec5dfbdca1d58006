"""Second review in a new process, with and without the saved prefix state.

Builds a temp repository with a staged change, pads the review's fixed prefix
(instructions, schema, project guidelines via --instructions) to about 2,000
tokens of SmolLM2, runs one review to save the prefix state, then times fresh
`python -m assistant review --staged` processes alternately with the disk
prefix cache and with --no-prefix-cache, and prints the wall times and their
ratio (target <= 0.2). The answer is capped (--answer-tokens) because the
cache speeds up prompt evaluation only; generation costs the same either way.

    python -m tests.benchmarks.bench_review [--prefix-tokens 2000] [--rounds 3]

Not collected by pytest (no test_ prefix)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.trace import read_trace
from assistant.protocols.detect import make_protocol
from assistant.review.chat import ChatPrompter
from assistant.review.prompt import system_prompt
from tests.fixtures.build_models import ensure_models

MAIN = Path(__file__).resolve().parents[2]
GUIDELINE = (
    "- {n}. Public functions validate their arguments and raise ValueError with a message "
    "that names the bad argument; internal helpers may assume valid input. Database access "
    "goes through the repository layer, never raw SQL in request handlers; every query "
    "that takes user input uses bound parameters.\n"
)
CODE_V1 = "".join(
    f"def handler_{i}(request, db):\n"
    f"    user = db.get_user(request.user_id)\n"
    f"    if user is None:\n"
    f"        return {{'status': 404}}\n"
    f"    return {{'status': 200, 'name': user.name, 'n': {i}}}\n\n\n"
    for i in range(12)
)
CODE_V2 = CODE_V1.replace(
    "def handler_5(request, db):\n    user = db.get_user(request.user_id)\n",
    "def handler_5(request, db):\n"
    "    query = \"SELECT * FROM users WHERE id = '%s'\" % request.args['id']\n"
    "    user = db.execute(query).fetchone()\n",
)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(root: Path) -> None:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text(CODE_V1)
    git(root, "add", "-A")
    git(root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "init")
    (root / "app.py").write_text(CODE_V2)
    git(root, "add", "-A")


def guidelines_for(model: Path, target: int) -> tuple[str, int]:
    """Project guidelines that bring the fixed prefix to about `target` tokens."""
    engine = LlamaEngine.load(model, EngineConfig(n_ctx=4096))
    try:
        protocol = make_protocol(engine.tokenizer, engine.chat_template, engine.metadata)
        prompter = ChatPrompter(protocol)
        lines: list[str] = []
        while True:
            text = "".join(lines)
            n = len(prompter.prefix(system_prompt(instructions=text)))
            if n >= target:
                return text, n
            lines.append(GUIDELINE.format(n=len(lines) + 1))
    finally:
        engine.close()


def review(
    repo: Path,
    model: Path,
    guidelines: Path,
    cache: Path,
    trace: Path,
    use_cache: bool,
    answer: int,
) -> tuple[float, dict[str, object]]:
    args = [
        sys.executable,
        "-m",
        "assistant",
        "review",
        "--staged",
        "--model",
        str(model),
        "--ctx",
        "4096",
        "--instructions",
        str(guidelines),
        "--no-repo-map",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--max-answer-tokens",
        str(answer),
        "--cache-dir",
        str(cache),
        "--trace",
        str(trace),
    ]
    if not use_cache:
        args.append("--no-prefix-cache")
    env = dict(os.environ, PYTHONPATH=str(MAIN))
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"review failed ({proc.returncode}):\n{proc.stderr}")
    stats = read_trace(trace)[-1]
    stats["review_seconds"] = json.loads(proc.stdout)["summary"]["seconds"]
    return wall, stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix-tokens", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answer-tokens", type=int, default=16)
    parser.add_argument("--model", type=Path, default=None)
    ns = parser.parse_args()
    model = ns.model or ensure_models()["smollm2"]
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        base = Path(tmp)
        repo = base / "repo"
        make_repo(repo)
        text, n_prefix = guidelines_for(model, ns.prefix_tokens)
        guidelines = base / "guidelines.md"
        guidelines.write_text(text)
        cache = base / "prefix-cache"
        print(f"model {model.name}; fixed prefix {n_prefix} tokens; answer <= {ns.answer_tokens}")
        review(repo, model, guidelines, cache, base / "warm.jsonl", True, ns.answer_tokens)
        cached: list[tuple[float, dict[str, object]]] = []
        fresh: list[tuple[float, dict[str, object]]] = []
        for i in range(ns.rounds):
            cached.append(
                review(repo, model, guidelines, cache, base / f"c{i}.jsonl", True, ns.answer_tokens)
            )
            fresh.append(
                review(
                    repo, model, guidelines, cache, base / f"f{i}.jsonl", False, ns.answer_tokens
                )
            )
        for name, runs in (("with prefix state", cached), ("without", fresh)):
            wall = statistics.median(w for w, _ in runs)
            rev = statistics.median(float(s["review_seconds"]) for _, s in runs)  # type: ignore[arg-type]
            ev = statistics.median(float(s["prompt_eval_ms"]) for _, s in runs)  # type: ignore[arg-type]
            last = runs[-1][1]
            print(
                f"{name:>18}: process {wall:6.2f} s, review {rev:6.2f} s, prompt eval {ev:7.0f} ms "
                f"(prompt {last['prompt_tokens']}, loaded {last['loaded_tokens']}, "
                f"evaluated {last['evaluated_tokens']})"
            )
        rev_c = statistics.median(float(s["review_seconds"]) for _, s in cached)  # type: ignore[arg-type]
        rev_f = statistics.median(float(s["review_seconds"]) for _, s in fresh)  # type: ignore[arg-type]
        wall_c = statistics.median(w for w, _ in cached)
        wall_f = statistics.median(w for w, _ in fresh)
        print(f"ratio (review time, cached / uncached): {rev_c / rev_f:.3f}  (target <= 0.2)")
        print(f"ratio (whole process incl. start-up and model load): {wall_c / wall_f:.3f}")


if __name__ == "__main__":
    main()
