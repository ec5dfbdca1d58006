"""A real `llama-server`, built from the llama.cpp vendored in the pinned
llama-cpp-python sdist (`tests/fixtures/build_server.py`), started on
127.0.0.1 with a free port. Nothing here leaves the loopback interface."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.llm import hardware
from tests.fixtures.build_server import build_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    model: Path
    process: subprocess.Popen[bytes]
    log: Path
    api_key: str | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(
    model: Path,
    log: Path,
    *,
    slots: int = 1,
    ctx: int = 4096,
    api_key: str | None = None,
    port: int | None = None,
    extra: tuple[str, ...] = (),
) -> Server:
    binary = build_server()
    port = port or free_port()
    args = [
        str(binary),
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-c",
        str(ctx * slots),
        "-np",
        str(slots),
        "-t",
        "2",
        "--no-webui",
        # the engine's own CPU decision (no AMX buffers: llama.cpp #20824)
        *hardware.server_flags(hardware.plan_load(hardware.cpu_report())),
        *extra,
    ]
    if api_key:
        args += ["--api-key", api_key]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_")}
    process = subprocess.Popen(args, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", model, process, log, api_key)
    deadline = time.monotonic() + 120
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama-server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{server.url}/health", headers=headers, timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(
        f"llama-server did not become healthy: {log.read_text(errors='replace')[-2000:]}"
    )


@pytest.fixture(scope="session")
def server_binary() -> Path:
    return build_server()


@pytest.fixture(scope="session")
def smol_server(
    server_binary: Path, smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "smol.log"
    server = start_server(smollm2_path, log, slots=4, ctx=4096)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gemma_server(
    server_binary: Path, tiny_gemma4_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "gemma.log"
    server = start_server(tiny_gemma4_path, log, slots=1, ctx=4096)
    yield server
    server.stop()
