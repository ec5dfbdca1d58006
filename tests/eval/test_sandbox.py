"""Issue 22: the eval sandbox confines the tests (the model's code) for real.

Each test writes a task whose test file does something hostile, runs it with
`run_tests` (the real launcher, the real `unshare`, a real pytest child) and
then looks from outside: is the file there, did the server outside get a
connection, is the `setsid` child still alive. The PROCESS level is run
explicitly too, as a machine without user namespaces would run it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.eval.sandbox import Confinement, confinement
from assistant.eval.testrun import TestStatus, run_tests
from tests.agent.conftest import clean_env

NAMESPACES = Confinement.NAMESPACES
needs_namespaces = pytest.mark.skipif(
    confinement() is not NAMESPACES, reason="no unprivileged user namespaces here"
)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux levels")


def _task(tmp_path: Path, body: str) -> Path:
    task = tmp_path / "task"
    task.mkdir()
    (task / "hostile_test.py").write_text(body, encoding="utf-8")
    return task


def _alive(marker: str) -> list[int]:
    """Processes (on the host) whose command line holds `marker`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(name))
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


@needs_namespaces
def test_writes_outside_the_task_folder_do_not_stay(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    in_tmp = Path("/tmp") / f"eval-escape-{tag}.txt"
    beside = tmp_path / f"beside-{tag}.txt"  # next to the task folder, outside it
    home = Path.home() / f".eval-escape-{tag}"
    here = Path.cwd() / f"eval-escape-{tag}.txt"
    task = _task(
        tmp_path,
        f"""
import json, os
from pathlib import Path

def test_write_everywhere():
    results = {{}}
    for path in {[str(in_tmp), str(beside), str(home), str(here)]!r}:
        try:
            Path(path).write_text("escaped")
            results[path] = "written"
        except OSError as exc:
            results[path] = exc.strerror
    Path("inside.txt").write_text("fine")
    Path(os.environ["HOME"], "h").write_text("fine")
    Path(os.environ["TMPDIR"], "t").write_text("fine")
    Path("results.json").write_text(json.dumps(results))
""",
    )
    try:
        run = run_tests(task, ("hostile_test.py",), timeout=60)
        assert run.status is TestStatus.PASSED, run.output
        for path in (in_tmp, beside, home, here):
            assert not path.exists(), f"{path} stayed after the run"
        assert (task / "inside.txt").read_text() == "fine"
        results = json.loads((task / "results.json").read_text())
        for path in (in_tmp, beside):  # under /tmp: a fresh tmpfs, dropped after the run
            assert results[str(path)] == "written", results
        for path in (home, here):  # anywhere else: refused, not only thrown away
            assert results[str(path)] == "Read-only file system", results
    finally:
        for path in (in_tmp, beside, home, here):
            path.unlink(missing_ok=True)


@pytest.fixture
def outside_listener() -> Iterator[tuple[str, int, list[str]]]:
    """A TCP server on this machine's own non-loopback address (what a test
    child would reach if it had the network), counting connections."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
        address = probe.getsockname()[0]
    except OSError:
        pytest.skip("no non-loopback IPv4 address")
    finally:
        probe.close()
    if address.startswith("127."):
        pytest.skip("no non-loopback IPv4 address")
    server = socket.socket()
    server.bind((address, 0))
    server.listen(8)
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                seen.append("connected")
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield address, server.getsockname()[1], seen
    stop.set()
    thread.join(2)
    server.close()


def _net_task(tmp_path: Path, address: str, port: int) -> Path:
    client = (
        f"import socket; s = socket.create_connection(({address!r}, {port}), timeout=5); "
        "print('CONNECTED')"
    )
    return _task(
        tmp_path,
        f"""
import subprocess, sys

def test_children_reach_out():
    for flags in ([], ["-I"], ["-S"]):  # -I and -S skip sitecustomize
        subprocess.run([sys.executable, *flags, "-c", {client!r}])
""",
    )


@needs_namespaces
def test_a_child_process_cannot_connect_out(
    tmp_path: Path, outside_listener: tuple[str, int, list[str]]
) -> None:
    address, port, seen = outside_listener
    # The control: the same child outside the sandbox does connect.
    client = f"import socket; socket.create_connection(({address!r}, {port}), timeout=5)"
    subprocess.run([sys.executable, "-I", "-c", client], check=True, timeout=30)
    assert seen == ["connected"]
    seen.clear()
    run = run_tests(_net_task(tmp_path, address, port), ("hostile_test.py",), timeout=60)
    assert run.status is TestStatus.PASSED, run.output
    assert seen == [] and "CONNECTED" not in run.output


@linux_only
def test_process_level_blocks_python_children(
    tmp_path: Path, outside_listener: tuple[str, int, list[str]]
) -> None:
    """Without namespaces only Python processes that load sitecustomize are
    blocked: README says so. The plain child is refused, `-I` is not."""
    address, port, seen = outside_listener
    run = run_tests(
        _net_task(tmp_path, address, port),
        ("hostile_test.py",),
        timeout=60,
        mode=Confinement.PROCESS,
    )
    assert run.status is TestStatus.PASSED, run.output
    assert len(seen) == 2  # -I and -S got through, the plain child did not


def _setsid_task(tmp_path: Path, marker: str, hang: bool) -> Path:
    return _task(
        tmp_path,
        f"""
import subprocess, time

def test_leave_a_daemon():
    subprocess.Popen(["setsid", "sh", "-c", "sleep 600; : {marker}"])
    subprocess.Popen(["sh", "-c", "(setsid sh -c 'sleep 600; :' {marker}-2 &)"])
    subprocess.Popen(["python3", "-c", "import os, time; os.setsid(); time.sleep(600)", "{marker}"])
    time.sleep(1)
    open("started", "w").write("yes")
    {"time.sleep(600)" if hang else "pass"}
""",
    )


@linux_only
@pytest.mark.parametrize("mode", [Confinement.NAMESPACES, Confinement.PROCESS])
@pytest.mark.parametrize("hang", [False, True], ids=["finishes", "times-out"])
def test_setsid_children_do_not_outlive_the_run(
    tmp_path: Path, mode: Confinement, hang: bool
) -> None:
    if mode is NAMESPACES and confinement() is not NAMESPACES:
        pytest.skip("no unprivileged user namespaces here")
    marker = f"evaldaemon{uuid.uuid4().hex}"
    try:
        task = _setsid_task(tmp_path, marker, hang)
        run = run_tests(task, ("hostile_test.py",), timeout=20 if hang else 120, mode=mode)
        assert run.status is (TestStatus.TIMEOUT if hang else TestStatus.PASSED), run.output
        assert (task / "started").exists()  # the daemons were started
        assert _alive(marker) == []
    finally:
        _kill(_alive(marker))


@needs_namespaces
def test_home_and_tmpdir_are_fresh_and_empty(tmp_path: Path) -> None:
    sentinel = Path("/tmp") / f"eval-sentinel-{uuid.uuid4().hex}"
    sentinel.write_text("the host's /tmp")
    task = _task(
        tmp_path,
        f"""
import os

def test_fresh():
    assert os.listdir(os.environ["HOME"]) == []
    assert os.listdir(os.environ["TMPDIR"]) == []
    assert not os.path.exists({str(sentinel)!r})
""",
    )
    try:
        run = run_tests(task, ("hostile_test.py",), timeout=60)
        assert run.status is TestStatus.PASSED, run.output
    finally:
        sentinel.unlink()


def test_this_machine_confines_with_namespaces() -> None:
    """The machine the project is tested on has them (util-linux unshare,
    unprivileged user namespaces): the level must not silently drop."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--net", "true"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available here")
    assert confinement() is NAMESPACES


def test_eval_run_refuses_without_confinement(tmp_path: Path) -> None:
    """No `unshare` on PATH (a machine without it): `eval run` refuses, exit 2,
    unless --unconfined; then it says what is not confined."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh", "setsid"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found:
            (bin_dir / tool).symlink_to(found)
    env = {**clean_env(), "PATH": str(bin_dir)}
    suite = Path(__file__).parent / "sanity"
    args = [sys.executable, "-m", "assistant", "eval", "run", "--suite", str(suite)]
    refused = subprocess.run(
        [*args, "--model", str(tmp_path / "none.gguf")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert "--unconfined" in refused.stderr and "not protected" in refused.stderr
    allowed = subprocess.run(
        [*args, "--unconfined", "--limit", "0", "--model", str(tmp_path / "none.gguf")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "note: running unconfined" in allowed.stderr, allowed.stderr
    assert allowed.returncode == 0, allowed.stderr


@needs_namespaces
def test_the_tests_cannot_undo_the_sandbox(tmp_path: Path) -> None:
    """The tests run as root of the user namespace: without their capabilities
    dropped they could remount / read-write or unmount the fresh /tmp. Tried
    directly and from a user namespace of their own."""
    target = Path.home() / f".eval-undo-{uuid.uuid4().hex}"
    script = (
        f"mount -o remount,rw,bind / ; umount -l /tmp ; touch {target} ; "
        f"unshare -Urm sh -c 'mount -o remount,rw,bind / ; umount -l /tmp ; touch {target}' ; "
        f"unshare -Um sh -c 'mount -o remount,rw,bind / ; touch {target}' ; "
        "cat /proc/self/status > status.txt"
    )
    task = _task(
        tmp_path,
        f"""
import subprocess

def test_undo():
    subprocess.run(["sh", "-c", {script!r}])
""",
    )
    try:
        run = run_tests(task, ("hostile_test.py",), timeout=60)
        assert run.status is TestStatus.PASSED, run.output
        assert not target.exists()
        status = (task / "status.txt").read_text()
        assert "CapEff:\t0000000000000000" in status and "CapBnd:\t0000000000000000" in status
    finally:
        target.unlink(missing_ok=True)


@needs_namespaces
@pytest.mark.parametrize("folder", ["/tmp", "/run"])
def test_unix_sockets_of_the_host_are_out_of_reach(tmp_path: Path, folder: str) -> None:
    """A network namespace does not cover Unix sockets bound to a path (a
    daemon's socket in /run, an agent's in /tmp): those folders are fresh."""
    if not os.access(folder, os.W_OK):
        pytest.skip(f"cannot make a socket in {folder} here")
    path = Path(folder) / f"eval-sock-{uuid.uuid4().hex[:12]}"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(0.2)
    task = _task(
        tmp_path,
        f"""
import socket

def test_reach():
    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect({str(path)!r})
        open("result", "w").write("CONNECTED")
    except OSError as exc:
        open("result", "w").write(exc.strerror)
""",
    )
    try:
        run = run_tests(task, ("hostile_test.py",), timeout=60)
        assert run.status is TestStatus.PASSED, run.output
        assert (task / "result").read_text() != "CONNECTED"
        with pytest.raises(OSError):
            server.accept()
    finally:
        server.close()
        path.unlink(missing_ok=True)
