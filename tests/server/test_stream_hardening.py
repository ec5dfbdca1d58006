"""Issue 22's hostile server streams, through `assistant ask` in a real process.

A fault proxy on loopback stands between the command and a real llama-server:
`/health`, `/props`, `/v1/models`, `/tokenize` and `/detokenize` go through to
the server (so the vocabulary, template and context are the real ones), and
`/completion` is answered by the proxy in the way each test names: SSE
comments only, a line that never ends, an empty 200, bytes with no `data:`
line, a stream cut before its last event, token ids that are out of range or
not numbers. The proxy is not a mock of llama-server: it is the broken server
or middlebox a user could point `--endpoint` at."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.conftest import clean_env, make_repo
from tests.server.conftest import Server, start_server

SUBPROCESS_LIMIT = 120  # seconds: a hang shows up as a TimeoutExpired, not a stuck suite


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=cwd,
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_LIMIT,
    )


def _one_line(stderr: str) -> bool:
    return len([line for line in stderr.splitlines() if line.strip()]) == 1


class _Proxy(http.server.BaseHTTPRequestHandler):
    upstream = ""
    mode = "pass"
    body: bytes = b""  # for mode "raw": the whole /completion answer

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self, method: str, payload: bytes | None) -> None:
        response = httpx.request(
            method,
            self.upstream + self.path,
            content=payload,
            headers={"Content-Type": "application/json"} if payload is not None else {},
            timeout=60,
        )
        self.send_response(response.status_code)
        self.send_header("Content-Type", response.headers.get("content-type", "text/plain"))
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def do_GET(self) -> None:
        self._forward("GET", None)

    def do_POST(self) -> None:
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/completion" or self.mode == "pass":
            if self.path == "/completion":
                self._stream_through(payload)
            else:
                self._forward("POST", payload)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            getattr(self, f"_mode_{self.mode.replace('-', '_')}")()

    def _stream_through(self, payload: bytes) -> None:
        with httpx.stream(
            "POST", self.upstream + self.path, content=payload, timeout=60
        ) as response:
            self.send_response(response.status_code)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for chunk in response.iter_raw():
                self.wfile.write(chunk)
                self.wfile.flush()

    def _sse_head(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def _mode_comments(self) -> None:
        self._sse_head()
        for _ in range(600):  # five minutes of keepalives, far past every deadline
            self.wfile.write(b": keepalive\n\n")
            self.wfile.flush()
            time.sleep(0.5)

    def _mode_partial(self) -> None:
        self._sse_head()
        self.wfile.write(b"data: {")
        for _ in range(600):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.5)

    def _mode_empty_events(self) -> None:
        self._sse_head()
        for _ in range(600):
            self.wfile.write(b'data: {"tokens": [], "content": "", "stop": false}\n\n')
            self.wfile.flush()
            time.sleep(0.5)

    def _mode_raw(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def proxy(smol_server: Server) -> Iterator[type[_Proxy]]:
    handler = type("Proxy", (_Proxy,), {"upstream": smol_server.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": "def add(a, b):\n    return a + b\n"})


def _ask(url: str, repo: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _cli(["ask", "--endpoint", url, "--max-tokens", "30", *extra, "Hi?"], repo, **env)


# ---------------------------------------------------------------- deadlines


@pytest.mark.parametrize("mode", ["comments", "partial", "empty-events"])
def test_keepalives_and_unfinished_lines_do_not_reset_the_deadline(
    proxy: type[_Proxy], repo: Path, mode: str
) -> None:
    proxy.mode = mode
    proc = _ask(proxy.url, repo, ASSISTANT_ENDPOINT_TIMEOUT="3")  # type: ignore[attr-defined]
    assert proc.returncode == 1, proc.stderr
    assert "stopped answering (" in proc.stderr and "for 3 s)" in proc.stderr
    assert "token limit" not in proc.stderr + proc.stdout


def test_timeout_bounds_a_stream_of_keepalives(proxy: type[_Proxy], repo: Path) -> None:
    """The endpoint timeout stays at its default (120 s): only --timeout can end it."""
    proxy.mode = "comments"
    proc = _ask(proxy.url, repo, "--timeout", "4")  # type: ignore[attr-defined]
    assert proc.returncode == 1, proc.stderr
    assert "--timeout 4 s reached" in proc.stderr


@pytest.fixture
def silent_health() -> Iterator[str]:
    """Accepts connections and never answers: the command hangs before the model starts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
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


def test_timeout_bounds_the_connect_too(silent_health: str, repo: Path) -> None:
    proc = _ask(silent_health, repo, "--timeout", "3")
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # after the "connecting to …" status
    assert last.startswith("error: --timeout 3 s reached while waiting for the model"), last


# ---------------------------------------------------------------- empty and cut streams


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello\nworld\n",
        b": only a comment\n\n",
        b"event: ping\n\nid: 3\n\n",
        b"data: [DONE]\n\n",
        b'{"content": "not a stream", "stop": true}',
    ],
    ids=["empty-200", "no-data-lines", "comment-only", "other-fields", "done-only", "plain-json"],
)
def test_a_stream_without_events_says_so(proxy: type[_Proxy], repo: Path, body: bytes) -> None:
    proxy.mode, proxy.body = "raw", body
    proc = _ask(proxy.url, repo)  # type: ignore[attr-defined]
    assert proc.returncode == 1, proc.stderr
    assert "without any data event" in proc.stderr
    assert "token limit" not in proc.stderr + proc.stdout


def test_a_stream_cut_before_its_last_event_says_so(proxy: type[_Proxy], repo: Path) -> None:
    proxy.mode, proxy.body = "raw", b'data: {"tokens": [28], "stop": false}\n\n'
    proc = _ask(proxy.url, repo)  # type: ignore[attr-defined]
    assert proc.returncode == 1, proc.stderr
    assert "ended the stream before its last event (after 1 token" in proc.stderr
    assert "token limit" not in proc.stderr + proc.stdout


# ---------------------------------------------------------------- token ids


def _n_vocab(server: Server) -> int:
    models = httpx.get(f"{server.url}/v1/models", timeout=10).json()
    return int(models["data"][0]["meta"]["n_vocab"])


@pytest.mark.parametrize(
    "tokens",
    [
        "N_VOCAB",
        "10**12",
        "-1",
        '"abc"',
        "1.5",
        "true",
        "null",
        '[{"id": 1}]',
    ],
)
def test_token_ids_outside_the_vocabulary_are_a_malformed_stream(
    proxy: type[_Proxy], smol_server: Server, repo: Path, tokens: str
) -> None:
    value: Any = {"N_VOCAB": _n_vocab(smol_server), "10**12": 10**12}.get(tokens)
    value = json.loads(tokens) if value is None else value
    event = {"tokens": [28, value], "stop": False}
    proxy.mode = "raw"
    proxy.body = f"data: {json.dumps(event)}\n\n".encode()
    proc = _ask(proxy.url, repo)  # type: ignore[attr-defined]
    assert proc.returncode == 1, proc.stderr
    assert "malformed event" in proc.stderr, proc.stderr
    assert "_M_range_check" not in proc.stderr and "unexpected" not in proc.stderr


@pytest.mark.parametrize("tokens", ['"12"', "{}", "7"])
def test_a_tokens_field_that_is_not_a_list_is_malformed(
    proxy: type[_Proxy], repo: Path, tokens: str
) -> None:
    proxy.mode = "raw"
    proxy.body = f'data: {{"tokens": {tokens}, "stop": false}}\n\n'.encode()
    proc = _ask(proxy.url, repo)  # type: ignore[attr-defined]
    assert proc.returncode == 1, proc.stderr
    assert "malformed event" in proc.stderr and "unexpected" not in proc.stderr


def test_the_proxy_passes_a_real_answer_through(proxy: type[_Proxy], repo: Path) -> None:
    """The control: the same path with nothing broken answers normally."""
    proc = _ask(proxy.url, repo)  # type: ignore[attr-defined]
    assert proc.returncode in (0, 1), proc.stderr  # 1: the small model's answer was cut
    assert "malformed" not in proc.stderr and "without any data" not in proc.stderr


# ---------------------------------------------------------------- endpoint URLs


@pytest.fixture
def proxy_v6(smol_server: Server) -> Iterator[str]:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")

    class V6Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    handler = type("Proxy", (_Proxy,), {"upstream": smol_server.url})
    try:
        server = V6Server(("::1", 0), handler)
    except OSError:
        pytest.skip("::1 is not configured on this machine")
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://[::1]:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ipv6_loopback_endpoint_works(proxy_v6: str, repo: Path) -> None:
    proc = _ask(proxy_v6, repo)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Invalid port" not in proc.stderr and "unexpected" not in proc.stderr
    assert "cannot reach" not in proc.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "http://127.0.0.1:-1",
        "http://127.0.0.1:http",
        "ftp://127.0.0.1:21",
        "file:///etc/passwd",
        "http://:8080",
        "http://[::1",
        "127.0.0.1:8080",
        "http://user:hunter2@127.0.0.1:99999",
        "http://[::1]:99999",
        "http://[zz]:80",
        "http://[red]x[/red]:1",
    ],
)
def test_bad_endpoint_urls_are_usage_errors(repo: Path, url: str) -> None:
    proc = _ask(url, repo)
    assert proc.returncode == 2, proc.stderr
    assert _one_line(proc.stderr), proc.stderr
    assert "unexpected" not in proc.stderr and "hunter2" not in proc.stderr


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "ftp://127.0.0.1:21"])
def test_model_info_checks_the_url_the_same_way(repo: Path, url: str) -> None:
    proc = _cli(["model", "info", "--endpoint", url], repo)
    assert proc.returncode == 2 and _one_line(proc.stderr), proc.stderr
    assert "unexpected" not in proc.stderr


def test_an_error_line_is_text_not_markup(repo: Path) -> None:
    """A URL in brackets is quoted as given, not eaten as a Rich style tag."""
    proc = _ask("http://[zz]:80", repo)
    assert proc.returncode == 2 and "'http://[zz]:80'" in proc.stderr, proc.stderr


def test_a_bad_endpoint_from_the_environment_is_a_usage_error_too(repo: Path) -> None:
    proc = _cli(["ask", "Hi?"], repo, ASSISTANT_ENDPOINT="http://127.0.0.1:70000")
    assert proc.returncode == 2 and _one_line(proc.stderr), proc.stderr


# ---------------------------------------------------------------- --verbose keeps exit codes


def test_verbose_keeps_the_exit_code_and_the_line(
    tiny_gemma4_path: Path, repo: Path, tmp_path: Path
) -> None:
    server = start_server(tiny_gemma4_path, tmp_path / "keyed.log", api_key="k-0123", ctx=1024)
    try:
        wrong = _cli(
            ["--verbose", "ask", "--endpoint", server.url, "Hi?"], repo, ASSISTANT_API_KEY="nope"
        )
        assert wrong.returncode == 3, wrong.stderr
        assert "error:" in wrong.stderr and "refused the API key" in wrong.stderr
        assert "Traceback" in wrong.stderr  # the detail --verbose is for
        after = _cli(
            ["ask", "--endpoint", server.url, "--verbose", "Hi?"], repo, ASSISTANT_API_KEY="nope"
        )
        assert after.returncode == 3, after.stderr
    finally:
        server.stop()


def test_verbose_keeps_the_exit_code_without_a_server(repo: Path, tmp_path: Path) -> None:
    missing = _cli(["--verbose", "ask", "--model", str(tmp_path / "none.gguf"), "Hi?"], repo)
    assert missing.returncode == 3, missing.stderr
    assert "error:" in missing.stderr and "Traceback" in missing.stderr
    bad_url = _cli(["--verbose", "ask", "--endpoint", "ftp://x:1", "Hi?"], repo)
    assert bad_url.returncode == 2, bad_url.stderr
