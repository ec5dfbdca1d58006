"""Running a task's tests: pytest in the task's own directory, in a child
process with a timeout, confined as far as the platform allows
(`assistant/eval/sandbox.py`: namespaces on Linux), capped output.

No network: in a network namespace where there is one; in every case every
Python process of the run (through `sitecustomize` on PYTHONPATH) refuses
connections off the loopback and name lookups, and the environment carries
no proxy settings. HOME and TMPDIR are fresh and empty. A hang is killed at
the timeout with everything the run started; a crash (a signal) is a failure
with its own status. The output file is capped by RLIMIT_FSIZE, and what is
kept for the record (and the model's second try) is its head and tail."""

from __future__ import annotations

import contextlib
import enum
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.eval.confine import MARK, SETUP_FAILED
from assistant.eval.sandbox import Confinement, confinement, launcher_command, write_guard

OUTPUT_CHARS = 4_000  # kept of the test output: head and tail
MAX_OUTPUT_BYTES = 8 << 20  # the child may write this much, then it gets SIGXFSZ
DEFAULT_TIMEOUT = 60.0
TERM_GRACE_S = 5.0  # PROCESS mode: the launcher's time to kill what it started

# Run as `python -c BOOT <pytest args>` (the guard is already in place through sitecustomize).
BOOT = """
import sys
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""

_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")


class TestStatus(enum.Enum):
    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # killed by a signal: segfault, abort, the output cap


@dataclass(frozen=True)
class TestRun:
    __test__ = False

    status: TestStatus
    output: str  # capped
    seconds: float
    returncode: int | None

    @property
    def passed(self) -> bool:
        return self.status is TestStatus.PASSED


class SandboxError(RuntimeError):
    """The sandbox could not be set up: the task is recorded with this error."""


def test_env(home: Path, tmp: Path, guard: Path | None = None) -> dict[str, str]:
    """A small environment: fresh HOME and TMPDIR, no proxies, no user site,
    no bytecode files; the network guard on PYTHONPATH."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    if guard is not None:
        env["PYTHONPATH"] = str(guard)
    env.update(
        {
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONHASHSEED": "0",
            "NO_COLOR": "1",
        }
    )
    return env


def require_pytest() -> None:
    """The tests run with pytest in this interpreter: say so before a model loads."""
    import importlib.util

    from assistant.errors import UsageError

    if importlib.util.find_spec("pytest") is None:
        raise UsageError("eval scores tasks with pytest: pip install 'assistant[eval]' (or pytest)")


def cap(text: str, limit: int = OUTPUT_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - limit} characters cut …]\n{text[-half:]}"


def _limit_output() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES))


def run_tests(
    directory: Path,
    tests: tuple[str, ...],
    timeout: float = DEFAULT_TIMEOUT,
    mode: Confinement | None = None,
) -> TestRun:
    mode = mode or confinement()
    directory = directory.resolve()
    pytest_args = [
        sys.executable,
        "-c",
        BOOT,
        "-q",
        "--tb=short",
        "-p",
        "no:cacheprovider",
        "--no-header",
        *tests,
    ]
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="assistant-eval-out-") as tmp:
        scratch = Path(tmp).resolve()
        home, temp = scratch / "home", scratch / "tmp"
        home.mkdir()
        temp.mkdir()
        guard = write_guard(scratch)
        out_path = scratch / "output.txt"
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(
                launcher_command(mode, directory, scratch, pytest_args),
                cwd=directory,
                env=test_env(home, temp, guard),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a timeout kills it all
                preexec_fn=_limit_output,
            )
            try:
                code: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
                _stop(proc, mode)
            if mode is not Confinement.NAMESPACES:
                _kill_group(proc)  # what is left of its process group
        with open(out_path, "rb") as fh:
            raw = fh.read(MAX_OUTPUT_BYTES)
    text = raw.decode("utf-8", errors="replace")
    if code == SETUP_FAILED and MARK in text:
        raise SandboxError(text.strip()[-300:])
    text = cap(text)
    seconds = time.monotonic() - start
    signum = _signal_of(code, mode)
    if code is None:
        status = TestStatus.TIMEOUT
        text = f"{text}\n[the tests did not finish within {timeout:g} s and were stopped]"
    elif signum:
        status = TestStatus.CRASHED
        text = f"{text}\n[the test process died with signal {signum}]"
    else:
        status = TestStatus.PASSED if code == 0 else TestStatus.FAILED
    return TestRun(status, text.strip(), seconds, code)


def _signal_of(code: int | None, mode: Confinement) -> int:
    """The signal the tests died of: a negative code, or 128+N from the launcher."""
    if code is None:
        return 0
    if code < 0:
        return -code
    if mode is not Confinement.GROUP and 128 < code < 128 + 65:
        return code - 128
    return 0


def _stop(proc: subprocess.Popen[bytes], mode: Confinement) -> None:
    """Stop a run that timed out, with all it started. NAMESPACES: killing
    `unshare` kills the launcher (--kill-child), process 1 of the PID
    namespace, and with it the namespace. PROCESS: the launcher kills its
    descendants on SIGTERM. GROUP: the process group is all there is."""
    if mode is Confinement.PROCESS:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(TERM_GRACE_S)
    _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
