"""Repo-map benchmark: ours against aider's on real PyPI sdists.

    python -m tests.benchmarks.bench_repomap [--budget 1024] [--work DIR]

Downloads the sqlalchemy 2.0 and flask sdists (`pip download --no-binary :all:`),
unpacks each into a fresh git repository, then times, each in a fresh process so
that only the disk caches carry over: our cold map (empty cache), our warm map
(unchanged repo), and the same two for aider's `RepoMap` (aider-chat installed in
a venv of its own, /tmp/aider-venv, created when missing) on the same files and
token budget. Not collected by pytest (the file name does not start with test_)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

PROJECTS = {"sqlalchemy": "sqlalchemy>=2.0,<2.1", "flask": "flask"}
AIDER_VENV = Path("/tmp/aider-venv")
REPO_ROOT = Path(__file__).resolve().parents[2]

OURS = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from assistant.repo.repomap import RepoMap
    root, cache, budget = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    t = time.perf_counter()
    rm = RepoMap(root, cache_path=cache)
    result = rm.build(budget)
    first = time.perf_counter() - t
    t = time.perf_counter()
    again = rm.build(budget)
    same = time.perf_counter() - t
    print(json.dumps({"seconds": first, "same_process": same, "tokens": result.tokens,
                      "files": result.stats.total_files, "parsed": result.stats.parsed_files,
                      "defs": sum(len(f.definitions) for f in result.files)}))
    """
)

AIDER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from aider.io import InputOutput
    from aider.repomap import RepoMap

    class Model:  # aider only needs a token counter from the model
        def token_count(self, text):
            return len(text) // 4

    root, files_json, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    files = json.loads(Path(files_json).read_text())
    t = time.perf_counter()
    rm = RepoMap(map_tokens=budget, root=root, main_model=Model(),
                 io=InputOutput(yes=True, pretty=False), refresh="always")
    text = rm.get_repo_map([], files) or ""
    first = time.perf_counter() - t
    print(json.dumps({"seconds": first, "tokens": len(text) // 4,
                      "defs": text.count("\\n")}))
    """
)


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}… failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def fetch(work: Path, name: str, spec: str) -> Path:
    repo = work / "repos" / name
    if (repo / ".git").exists():
        return repo
    dl = work / "sdists"
    dl.mkdir(parents=True, exist_ok=True)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            ":all:",
            spec,
            "-d",
            str(dl),
        ]
    )
    sdist = sorted(p for p in dl.iterdir() if p.name.lower().startswith(name))[-1]
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist) as tar:
        tar.extractall(tmp, filter="data")
        (top,) = list(Path(tmp).iterdir())
        repo.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(top), repo)
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@b",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@b",
    )
    run(["git", "init", "-q"], cwd=repo)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-m", "sdist"], cwd=repo, env=env)
    return repo


def ensure_aider() -> Path | None:
    python = AIDER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {AIDER_VENV} and installing aider-chat …", flush=True)
        run([sys.executable, "-m", "venv", str(AIDER_VENV)])
        try:
            run([str(python), "-m", "pip", "install", "-q", "aider-chat"])
        except RuntimeError as exc:
            print(f"aider-chat could not be installed: {exc}")
            return None
    return python


def ours(repo: Path, cache: Path, budget: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = run([sys.executable, "-c", OURS, str(repo), str(cache), str(budget)], env=env)
    return dict(json.loads(out.strip().splitlines()[-1]))


def aider(python: Path, repo: Path, files: list[str], budget: int, work: Path) -> dict[str, float]:
    listing = work / f"{repo.name}-files.json"
    listing.write_text(json.dumps([str(repo / f) for f in files]))
    env = dict(os.environ, AIDER_ANALYTICS="false", HF_HUB_OFFLINE="1")
    out = run([str(python), "-c", AIDER, str(repo), str(listing), str(budget)], cwd=repo, env=env)
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=1024)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-repomap")
    parser.add_argument("--no-aider", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from assistant.repo.files import list_repo_files
    from assistant.repo.repomap.languages import has_language

    python = None if args.no_aider else ensure_aider()
    rows = []
    for name, spec in PROJECTS.items():
        repo = fetch(args.work, name, spec)
        files = list_repo_files(repo, include=has_language)
        cache = args.work / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(cache) + suffix).unlink(missing_ok=True)
        cold = ours(repo, cache, args.budget)
        warm = ours(repo, cache, args.budget)
        row = {
            "project": name,
            "files": len(files),
            "ours_cold": cold["seconds"],
            "ours_warm": warm["seconds"],
            "ours_warm_same_process": warm["same_process"],
            "ours_tokens": cold["tokens"],
            "ours_parsed_warm": warm["parsed"],
        }
        if python is not None:
            shutil.rmtree(repo / ".aider.tags.cache.v4", ignore_errors=True)
            try:
                a_cold = aider(python, repo, files, args.budget, args.work)
                a_warm = aider(python, repo, files, args.budget, args.work)
                row.update(
                    aider_cold=a_cold["seconds"],
                    aider_warm=a_warm["seconds"],
                    aider_tokens=a_cold["tokens"],
                )
            except RuntimeError as exc:
                print(f"aider failed on {name}: {exc}")
        rows.append(row)
    print()
    print(
        f"{'project':<12}{'files':>7}{'ours cold':>11}{'ours warm':>11}{'same-proc':>11}"
        f"{'aider cold':>12}{'aider warm':>12}{'cold ratio':>12}{'warm ratio':>12}"
    )
    for r in rows:
        ac, aw = r.get("aider_cold"), r.get("aider_warm")
        cold_ratio = f"{r['ours_cold'] / ac:.3f}" if ac else "-"
        warm_ratio = f"{r['ours_warm'] / aw:.3f}" if aw else "-"
        print(
            f"{r['project']:<12}{r['files']:>7}{r['ours_cold']:>10.2f}s{r['ours_warm']:>10.3f}s"
            f"{r['ours_warm_same_process']:>10.3f}s"
            f"{(f'{ac:.2f}s' if ac else '-'):>12}{(f'{aw:.3f}s' if aw else '-'):>12}"
            f"{cold_ratio:>12}{warm_ratio:>12}"
        )
    print("\n(ratio = ours / aider; targets on sqlalchemy: cold < 0.5, ours warm < 0.3 s)")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
