"""Running a task's tests: pytest in the task's own directory, in a child
process with a timeout, no network, capped output.

No network: the child installs an audit hook before pytest starts that
refuses every `socket.connect` to a non-loopback address and every name
lookup, and its environment carries no proxy settings. A hang is killed with
its whole process group at the timeout; a crash (a signal) is a failure with
its own status. The output file is capped by RLIMIT_FSIZE, and what is kept
for the record (and the model's second try) is its head and tail."""

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

OUTPUT_CHARS = 4_000  # kept of the test output: head and tail
MAX_OUTPUT_BYTES = 8 << 20  # the child may write this much, then it gets SIGXFSZ
DEFAULT_TIMEOUT = 60.0

# Run as `python -c BOOT <pytest args>`: guard the sockets, then pytest.
BOOT = """
import ipaddress, sys
def _guard(event, args):
    if event == "socket.getaddrinfo" and args[0] not in ("localhost", "127.0.0.1", "::1", None):
        raise OSError("network access is disabled in eval tests")
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):
            try:
                loopback = ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise OSError("network access is disabled in eval tests")
sys.addaudithook(_guard)
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""

_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")


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


def test_env(home: Path) -> dict[str, str]:
    """A small environment: no proxies, no user site, no bytecode files."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(
        {
            "HOME": str(home),
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


def run_tests(directory: Path, tests: tuple[str, ...], timeout: float = DEFAULT_TIMEOUT) -> TestRun:
    args = [
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
    with tempfile.TemporaryDirectory(prefix="assistant-eval-out-") as scratch:
        out_path = Path(scratch) / "output.txt"
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=directory,
                env=test_env(Path(scratch)),
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
                _kill_group(proc)
        with open(out_path, "rb") as fh:
            raw = fh.read(MAX_OUTPUT_BYTES)
    text = cap(raw.decode("utf-8", errors="replace"))
    seconds = time.monotonic() - start
    if code is None:
        status = TestStatus.TIMEOUT
        text = f"{text}\n[the tests did not finish within {timeout:g} s and were stopped]"
    elif code < 0:
        status = TestStatus.CRASHED
        text = f"{text}\n[the test process died with signal {-code}]"
    else:
        status = TestStatus.PASSED if code == 0 else TestStatus.FAILED
    return TestRun(status, text.strip(), seconds, code)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
