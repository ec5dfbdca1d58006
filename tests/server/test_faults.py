"""What happens when the server is wrong, slow, gone or not a llama-server.

The real `llama-server` is used for the key, the kill and the restart. For the
endpoints that must misbehave in ways llama-server never does (answers 404
HTML, accepts a connection and says nothing, streams garbage), a few lines of
stdlib HTTP server stand in: they are not a mock of llama-server, they are the
other kinds of server a user might point --endpoint at by mistake."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.agent.loop import AgentConfig
from assistant.errors import GenerationFailed
from assistant.events import Notice, Outcome
from assistant.llm.engine import SamplingParams
from assistant.llm.remote import EndpointError, RemoteEngine, ServerClient
from assistant.llm.trace import TraceWriter
from tests.agent.conftest import Recorder, build_agent, clean_env, make_repo
from tests.server.conftest import free_port, start_server

KEY = "s3cret-team-key-0123456789"


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=cwd,
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": "def add(a, b):\n    return a + b\n"})


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "html"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.mode == "html":
            self._send(404, b"<html>not here</html>", "text/html")
        else:
            self._send(200, b'{"status": "ok"}')

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.mode == "garbage-sse":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"tokens": [1], "stop": false}\n\ndata: {not json\n\n')
            self.wfile.flush()
            return
        self._send(404, b"<html>not here</html>", "text/html")


@pytest.fixture
def stub_http() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_socket() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    sock.close()


def test_unreachable_server_exits_3_with_how_to_check(repo: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = _cli(["ask", "--endpoint", url, "What is here?"], repo)
    assert proc.returncode == 3, proc.stderr
    assert "cannot reach the llama-server" in proc.stderr and f"curl {url}/health" in proc.stderr
    assert proc.stderr.count("\n") <= 2


def test_an_http_server_that_is_not_llama_server(repo: Path, stub_http: tuple[str, type]) -> None:
    url, _ = stub_http
    proc = _cli(["ask", "--endpoint", url, "What is here?"], repo)
    assert proc.returncode == 3
    assert "is it a llama.cpp llama-server?" in proc.stderr


def test_a_hanging_endpoint_times_out(repo: Path, silent_socket: str) -> None:
    started = time.monotonic()
    proc = _cli(
        ["ask", "--endpoint", silent_socket, "What is here?"], repo, ASSISTANT_ENDPOINT_TIMEOUT="2"
    )
    assert proc.returncode == 3
    assert "cannot reach the llama-server" in proc.stderr
    assert time.monotonic() - started < 60


def test_a_malformed_event_stream_ends_the_answer_cleanly(stub_http: tuple[str, type]) -> None:
    url, handler = stub_http
    handler.mode = "garbage-sse"
    client = ServerClient(url)
    try:
        events = client.stream("/completion", {"prompt": [1]}, None)
        assert next(events) == {"tokens": [1], "stop": False}
        with pytest.raises(GenerationFailed, match="malformed event"):
            next(events)
    finally:
        client.close()


def test_wrong_key_is_refused_and_never_shown(
    smollm2_path: Path, repo: Path, tmp_path: Path
) -> None:
    # 2048: ask's system prompt with the tool declarations is ~1,300 tokens
    server = start_server(smollm2_path, tmp_path / "keyed.log", api_key=KEY, ctx=2048)
    try:
        with pytest.raises(EndpointError, match="refused the API key") as caught:
            RemoteEngine.connect(server.url, "wrong-key")
        assert KEY not in caught.value.message and "wrong-key" not in caught.value.message
        trace = tmp_path / "trace.jsonl"
        proc = _cli(
            ["ask", "--endpoint", server.url, "--trace", str(trace), "--max-tokens", "8", "Hi?"],
            repo,
            ASSISTANT_API_KEY=KEY,
        )
        assert proc.returncode in (0, 1), proc.stderr
        assert KEY not in trace.read_text() and KEY not in proc.stdout + proc.stderr
        shown = _cli(["config", "show"], repo, ASSISTANT_API_KEY=KEY)
        assert KEY not in shown.stdout + shown.stderr
        wrong = _cli(["ask", "--endpoint", server.url, "Hi?"], repo, ASSISTANT_API_KEY="nope")
        assert wrong.returncode == 3 and "refused the API key" in wrong.stderr
    finally:
        server.stop()


def test_server_killed_mid_answer_then_restarted(
    smollm2_path: Path, repo: Path, tmp_path: Path
) -> None:
    """The turn ends with what was generated and a notice; the session is
    intact; once the server is back, the same agent answers again."""
    port = free_port()
    server = start_server(smollm2_path, tmp_path / "a.log", port=port, ctx=2048)
    engine = RemoteEngine.connect(server.url, trace=TraceWriter(tmp_path / "t.jsonl"))
    try:
        greedy = SamplingParams(temperature=0.0, top_k=1, seed=0)
        agent = build_agent(engine, repo, AgentConfig(max_steps=1, max_tokens=400, sampling=greedy))  # type: ignore[arg-type]
        killer = threading.Thread(
            target=lambda: (time.sleep(1.0), os.kill(server.process.pid, signal.SIGKILL))
        )
        killer.start()
        recorder = Recorder()
        result = agent.run("Write a long story about a lighthouse keeper.", recorder)
        killer.join()
        server.process.wait(10)
        assert result.outcome is Outcome.FAILED
        notices = [n.text for n in recorder.of(Notice)]
        assert any("broke off" in n for n in notices), notices
        assert agent.session.turns == 1
        restarted = start_server(smollm2_path, tmp_path / "b.log", port=port, ctx=2048)
        try:
            again = agent.run("Say hello.", Recorder())
            assert again.outcome is not Outcome.FAILED
            assert agent.session.turns == 2
        finally:
            restarted.stop()
    finally:
        engine.close()
        server.stop()
