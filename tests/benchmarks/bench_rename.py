"""`assistant rename` against rope, on the larger oracle project (click 8.1.7).

    python -m tests.benchmarks.bench_rename [--project click] [--repeat 3]

The pinned sdist is unpacked into a fresh git repository (tests/refactor/oracle.py).
For each rename, in a fresh process each (so only the OS file cache carries over):

- ours cold: the first `plan_rename` in the process (grammar loaded, every file
  read, the files holding the name parsed); ours warm: the same rename again in
  that process. `rename` keeps no cache of its own and does not read the repo
  map's tag cache: the tags list where names are defined and called, not every
  use, so a rename cannot rely on them; the files it parses are those whose
  bytes hold the name (an exact superset). So warm differs from cold by the
  grammar load and the OS cache only.
- rope cold: a new `Project` and `Rename(...).get_changes(new, docs=False)`;
  rope warm: the same call again on that project (rope keeps its parsed modules).

Ratios are rope / ours from the same run. Not collected by pytest."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

RENAMES = {
    "click": [
        ("src/click/core.py", "Context", "class"),
        ("src/click/core.py", "Command.get_help", "method"),
        ("src/click/utils.py", "echo", "function"),
    ],
}

OURS = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from assistant.refactor.rename import plan_rename
    root, spec = Path(sys.argv[1]), sys.argv[2]
    new = spec.rsplit(".", 1)[-1].rsplit(":", 1)[-1] + "_rn"
    t = time.perf_counter()
    plan = plan_rename(root, spec, new)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    plan_rename(root, spec, new)
    warm = time.perf_counter() - t
    print(json.dumps({"cold": cold, "warm": warm, "occurrences": plan.count,
                      "files": len(plan.changes)}))
    """
)

ROPE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from rope.base.project import Project
    from rope.refactor.rename import Rename
    root, rel, offset, new = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    t = time.perf_counter()
    project = Project(root, ropefolder=None, source_folders=["src"])
    changes = Rename(project, project.get_resource(rel), offset).get_changes(new, docs=False)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    Rename(project, project.get_resource(rel), offset).get_changes(new, docs=False)
    warm = time.perf_counter() - t
    print(json.dumps({"cold": cold, "warm": warm, "files": len(changes.changes)}))
    """
)


def _run(script: str, *args: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=REPO_ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from tests.refactor.oracle import PROJECTS, make_repo, pick_names

    parser = argparse.ArgumentParser()
    parser.add_argument("--project", default="click", choices=sorted(RENAMES))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (the median is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(args.project, Path(tmp))
        picks = {p.spec: p for p in pick_names(repo, PROJECTS[args.project][1], 10_000)}
        py_files = sum(1 for _ in repo.rglob("*.py"))
        print(f"{args.project}: {py_files} Python files; median of {args.repeat} runs each")
        print(
            f"{'rename':42} {'ours cold':>9} {'warm':>7} {'rope cold':>9} {'warm':>7} "
            f"{'cold x':>7} {'warm x':>7}"
        )
        for rel, qual, kind in RENAMES[args.project]:
            pick = picks[f"{rel}::{qual}"]
            assert pick.kind == kind, pick
            new = pick.name + "_rn"
            ours = [_run(OURS, str(repo), pick.spec) for _ in range(args.repeat)]
            rope = [_run(ROPE, str(repo), rel, str(pick.offset), new) for _ in range(args.repeat)]

            def median(rows: list[dict[str, float]], key: str) -> float:
                values = sorted(r[key] for r in rows)
                return values[len(values) // 2]

            oc, ow = median(ours, "cold"), median(ours, "warm")
            rc, rw = median(rope, "cold"), median(rope, "warm")
            label = f"{kind} {qual} ({ours[0]['occurrences']:.0f} uses)"
            print(
                f"{label:42} {oc:9.3f} {ow:7.3f} {rc:9.3f} {rw:7.3f} {rc / oc:7.1f} {rw / ow:7.1f}"
            )


if __name__ == "__main__":
    main()
