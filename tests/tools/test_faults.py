"""Fault injection with real processes: SIGKILL mid-write, a file-size limit that
makes writes fail like a full disk, and a read-only directory."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox

from tests.tools.conftest import init_repo

ROOT = Path(__file__).resolve().parents[2]

# Alternates the file between two contents through write_file, forever.
WRITER = """
import sys
from pathlib import Path
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox
repo, journal_dir = Path(sys.argv[1]), Path(sys.argv[2])
contents = [Path(sys.argv[3]).read_text(), Path(sys.argv[4]).read_text()]
box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(repo, journal_dir))
assert box.call("read_file", {"path": "data.txt"}).ok
sys.stdout.write("ready\\n")
sys.stdout.flush()
i = 1
while True:
    result = box.call("write_file", {"path": "data.txt", "content": contents[i % 2]})
    assert result.ok, result.text
    sys.stdout.write("w\\n")
    sys.stdout.flush()
    i += 1
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")


def test_sigkill_mid_write_leaves_old_or_new(tmp_path: Path) -> None:
    a = "".join(f"old line {i}\n" for i in range(20_000))  # ~250 KB
    b = "".join(f"NEW {i} " * 3 + "\n" for i in range(15_000))
    (tmp_path / "a.txt").write_text(a)
    (tmp_path / "b.txt").write_text(b)
    repo = init_repo(tmp_path / "repo", {"data.txt": a})
    journal_dir = tmp_path / "journal"
    rng = random.Random(1234)
    seen = set()
    write_time = 0.02  # refined after the first iteration that measures it
    for _ in range(20):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(repo),
                str(journal_dir),
                *(str(tmp_path / n) for n in ("a.txt", "b.txt")),
            ],
            stdout=subprocess.PIPE,
            env=_env(),
            cwd=tmp_path,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        # Let a random number of writes complete, then kill at a random moment within
        # about one write's duration (measured, so slow machines are hit mid-write too).
        started = time.monotonic()
        completed = rng.randint(0, 3)
        for _ in range(completed):
            assert proc.stdout.readline() == b"w\n"
        if completed:
            write_time = (time.monotonic() - started) / completed
        time.sleep(rng.uniform(0.0, write_time * 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = (repo / "data.txt").read_text()
        assert data in (a, b), "file is neither the old nor the new content"
        seen.add(data == a)
        for leftover in repo.glob(".data.txt.*.assistant-tmp"):
            leftover.unlink()  # a killed writer may leave its temp file; never the target
    assert seen == {True, False}, "the kills never landed between two writes"
    # The journal survived every kill: undoing everything restores the original.
    box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(repo, journal_dir))
    outcomes = box.undo(10_000)
    assert all(o.reverted for o in outcomes), [o.message for o in outcomes if not o.reverted]
    assert (repo / "data.txt").read_text() == a
    assert len(box.journal) == 0


FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
repo, journal_dir = Path(sys.argv[1]), Path(sys.argv[2])
box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(repo, journal_dir))
box.call("read_file", {"path": "small.txt"})
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
results = [
    box.call("write_file", {"path": "small.txt", "content": "z" * 500_000}),
    box.call("edit_file", {"path": "small.txt", "old_text": "keep me", "new_text": "q" * 500_000}),
    box.call("write_file", {"path": "newdir/big.txt", "content": "z" * 500_000}),
]
print(json.dumps([[r.ok, r.text] for r in results]))
"""


def test_write_failure_keeps_original(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes write() fail with EFBIG part-way, as a full disk would."""
    repo = init_repo(tmp_path / "repo", {"small.txt": "keep me\n"})
    journal_dir = tmp_path / "journal"
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(repo), str(journal_dir)],
        capture_output=True,
        env=_env(),
        text=True,
        check=True,
    )
    results = json.loads(proc.stdout)
    for ok, text in results:
        assert not ok
        assert text.startswith("error: could not write"), text
    assert "the file is unchanged" in results[0][1]
    assert (repo / "small.txt").read_text() == "keep me\n"
    assert not (repo / "newdir").exists()
    assert not list(repo.glob(".*.assistant-tmp"))
    assert len(UndoJournal(repo, journal_dir)) == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_permission_error_keeps_original(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"locked/file.txt": "original\n"})
    box = Toolbox(repo, ApprovalPolicy.AUTO_EDIT, None, UndoJournal(repo, tmp_path / "j"))
    box.call("read_file", {"path": "locked/file.txt"})
    (repo / "locked").chmod(0o555)
    try:
        result = box.call(
            "edit_file", {"path": "locked/file.txt", "old_text": "original", "new_text": "x"}
        )
    finally:
        (repo / "locked").chmod(0o755)
    assert result.text.startswith("error: could not write locked/file.txt")
    assert (repo / "locked/file.txt").read_text() == "original\n"
