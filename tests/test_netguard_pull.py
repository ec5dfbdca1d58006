"""`model pull` opens the network to the hub's hosts by name, never to any
host (issue 11, section 5). Each probe runs in a fresh interpreter with the
real guard installed and a second audit hook behind it that stops whatever
gets past the guard before a packet is sent."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.errors import UsageError
from assistant.llm.models import HUB_DOMAINS, hub_hosts

ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent(
    """
    import socket, sys
    from assistant import netguard
    from assistant.errors import NetworkBlockedError

    def safety(event, args):
        if event == "socket.connect" and not str(args[1][0]).startswith("127."):
            raise ConnectionAbortedError("reached the second hook")
        if event == "socket.getaddrinfo" and args[0] not in ("localhost",):
            raise ConnectionAbortedError("lookup reached the second hook")

    netguard.install()
    sys.addaudithook(safety)

    def connect(address):
        sock = socket.socket()  # a raw connect: no name lookup first
        sock.settimeout(1)
        try:
            sock.connect((address, 443))
        except NetworkBlockedError:
            return "blocked"
        except ConnectionAbortedError:
            return "passed"
        finally:
            sock.close()
        return "connected"

    def lookup(name):
        try:
            socket.getaddrinfo(name, 443)
        except NetworkBlockedError:
            return "blocked"
        except ConnectionAbortedError:
            return "passed"
        except OSError:
            return "passed"
        return "passed"

    with netguard.allow_network(["huggingface.co"], ["huggingface.co", "hf.co"]):
        results = [
            lookup("evil.example.com"),
            lookup("huggingface.co.evil.example"),
            connect("192.0.2.1"),
            connect("10.255.255.1"),
            lookup("cdn-lfs.huggingface.co"),
            lookup("cas-bridge.xethub.hf.co"),
        ]
    results.append(connect("192.0.2.1"))
    print(" ".join(results))
    """
)


def test_pull_opens_only_the_hub_hosts_by_name() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    # Other names and raw addresses stay blocked while the pull runs; the
    # hub's own names get through the guard (to the second hook here).
    assert proc.stdout.split() == [
        "blocked",
        "blocked",
        "blocked",
        "blocked",
        "passed",
        "passed",
        "blocked",
    ]


def test_hub_hosts() -> None:
    assert hub_hosts({}).names == ("huggingface.co",)
    assert hub_hosts({}).domains == HUB_DOMAINS
    assert hub_hosts({"HF_ENDPOINT": "https://hf.co"}).names == ("hf.co",)
    with pytest.raises(UsageError, match="--hf-endpoint"):
        hub_hosts({"HF_ENDPOINT": "https://mirror.example.com"})
    mirror = hub_hosts({"HF_ENDPOINT": "https://mirror.example.com/"}, allow_endpoint=True)
    assert mirror.names == ("mirror.example.com",) and mirror.domains == ()
    # A look-alike is not the hub.
    with pytest.raises(UsageError):
        hub_hosts({"HF_ENDPOINT": "https://huggingface.co.evil.example"})


def test_pull_refuses_a_foreign_hf_endpoint_before_any_network(tmp_path: Path) -> None:
    """Was: the guard was lifted for every host, so HF_ENDPOINT could send the
    download (and its requests) anywhere."""
    probe = textwrap.dedent(
        """
        import sys
        def safety(event, args):
            if event in ("socket.connect", "socket.getaddrinfo"):
                print("NETWORK", event, args[0] if event == "socket.getaddrinfo" else args[1])
                raise SystemExit(9)
        sys.addaudithook(safety)
        sys.argv = ["assistant", "model", "pull"]
        from assistant.cli.app import main
        main()
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
        "HF_ENDPOINT": "http://10.255.255.1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert "NETWORK" not in proc.stdout, proc.stdout
    assert proc.returncode == 2, proc.stderr
    assert "HF_ENDPOINT points at 10.255.255.1" in proc.stderr
