"""Nothing leaves the machine: the CLI's audit-hook guard refuses connections
to anything but loopback. The test adds a second audit hook behind the guard
that aborts any connect that gets past it, so no packet can leave even if the
guard were broken."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import socket, sys
    from assistant import netguard
    from assistant.cli import app as cli

    def safety(event, args):
        if event == "socket.connect" and not str(args[1][0]).startswith("127."):
            raise SystemExit("GUARD FAILED: connect reached the second hook")

    netguard.install()
    sys.addaudithook(safety)

    @cli.app.command("probe")
    def probe(host: str) -> None:
        socket.create_connection((host, 9), timeout=1)

    sys.argv = ["assistant", "probe", sys.argv[1]]
    cli.main()
    """
)


def run_probe(host: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, host], capture_output=True, text=True, check=False
    )


def test_non_loopback_connection_is_refused_with_a_clear_error() -> None:
    out = run_probe("192.0.2.1")
    assert out.returncode == 1
    assert "GUARD FAILED" not in out.stderr
    assert "blocked a network connection to 192.0.2.1" in out.stderr
    assert "Traceback" not in out.stderr


def test_loopback_is_allowed() -> None:
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = f"""
import socket
from assistant import netguard
netguard.install()
socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    server.close()
    assert out.stdout.strip() == "ok", out.stderr


PULL_PROBE = textwrap.dedent(
    """
    import socket, sys
    from assistant import netguard
    from assistant.errors import NetworkBlockedError

    def safety(event, args):
        # Behind the guard: whatever gets past it stops here, before a packet.
        if event == "socket.connect" and not str(args[1][0]).startswith("127."):
            raise ConnectionAbortedError("reached the second hook")

    netguard.install()
    sys.addaudithook(safety)

    def attempt():
        try:
            socket.create_connection(("192.0.2.1", 9), timeout=1)
        except NetworkBlockedError:
            return "blocked"
        except ConnectionAbortedError:
            return "passed"

    before = attempt()
    with netguard.allow_network(["192.0.2.1"]):  # opened by name, as model pull opens the hub
        during = attempt()
    print(before, during, attempt())
    """
)


def test_model_pull_lifts_the_guard_only_while_it_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PULL_PROBE], capture_output=True, text=True, check=False
    )
    assert out.stdout.split() == ["blocked", "passed", "blocked"], out.stderr
