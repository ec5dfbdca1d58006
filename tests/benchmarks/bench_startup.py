"""Start-up time of commands that never load a model, as ratios against
`python -c "import typer"` measured in the same run on the same machine.

Each case runs as a fresh process, interleaved with the baseline, and the
best of `--rounds` is kept for both (the minimum is the least noisy figure on
a shared machine). Targets: `assistant --help` and `assistant version` ≤ 3×,
`assistant review --staged` with nothing staged ≤ 4× (it also runs git).

    python -m tests.benchmarks.bench_startup [--rounds 7]

Exit status 1 when a ratio is over its target. Not collected by pytest (no
test_ prefix); tests/cli/test_startup.py checks the imports instead of time."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASSISTANT = [sys.executable, "-m", "assistant"]
BASELINE = [sys.executable, "-c", "import typer"]
CASES: tuple[tuple[str, list[str], float], ...] = (
    ("assistant --help", [*ASSISTANT, "--help"], 3.0),
    ("assistant version", [*ASSISTANT, "version"], 3.0),
    ("assistant review --staged (nothing staged)", [*ASSISTANT, "review", "--staged"], 4.0),
)


def wall(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def empty_repo(path: Path) -> Path:
    run = {"cwd": path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q", "-b", "main"], **run)  # type: ignore[call-overload]
    (path / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "a.py"], **run)  # type: ignore[call-overload]
    subprocess.run(  # type: ignore[call-overload]
        ["git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "init"], **run
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        repo = empty_repo(Path(tmp))
        wall(BASELINE, repo)  # warm the file cache once for everything
        for _, command, _ in CASES:
            wall(command, repo)
        for label, command, target in CASES:
            base, case = [], []
            for _ in range(args.rounds):
                base.append(wall(BASELINE, repo))
                case.append(wall(command, repo))
            ratio = min(case) / min(base)
            verdict = "ok" if ratio <= target else "OVER"
            failed |= ratio > target
            print(
                f"{label:45} {min(case) * 1000:7.0f} ms  import typer {min(base) * 1000:5.0f} ms"
                f"  ratio {ratio:4.2f} (target ≤ {target:g}) {verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
