"""edit_file scaling: time against the number of matches must grow linearly.

    python -m tests.benchmarks.bench_tools [--matches 20000]

Times, in one process, an ambiguous (refused) edit and a replace_all edit on files
with N and 4N one-line matches, in a temporary git repository. Linear code gives a
ratio near 4 for 4x the matches; the quadratic line numbering it replaced gave ~16
(issue 11: 80k matches took 23 s, a refused ambiguous edit 7 s). Not collected by
pytest (the file name does not start with test_)."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox


def _time_edits(root: Path, journal: Path, matches: int) -> tuple[float, float]:
    target = root / f"many{matches}.txt"
    target.write_text("x = 1\n" * matches)
    box = Toolbox(root, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(root, journal))
    box.call("read_file", {"path": target.name})
    args = {"path": target.name, "old_text": "x = 1", "new_text": "y = 2"}
    t = time.perf_counter()
    refused = box.call("edit_file", args)
    ambiguous = time.perf_counter() - t
    assert not refused.ok
    t = time.perf_counter()
    done = box.call("edit_file", {**args, "replace_all": True})
    replace_all = time.perf_counter() - t
    assert done.ok, done.text
    return ambiguous, replace_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--matches", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        small = _time_edits(root, Path(tmp) / "journal", args.matches)
        large = _time_edits(root, Path(tmp) / "journal", 4 * args.matches)
    for label, a, b in (
        ("refused ambiguous edit", small[0], large[0]),
        ("replace_all edit", small[1], large[1]),
    ):
        print(
            f"{label:24s} {args.matches:>7d} matches {a:7.3f} s   "
            f"{4 * args.matches:>7d} matches {b:7.3f} s   ratio {b / a:5.1f} (linear ~4)"
        )


if __name__ == "__main__":
    main()
