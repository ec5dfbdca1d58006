"""`assistant eval fetch`'s verification, against an archive served from
127.0.0.1 (GitHub is not reachable from the test machines): a good archive is
unpacked into the cache, a wrong size or hash leaves nothing behind, and the
download goes through the network guard's explicit allowance."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import netguard
from assistant.errors import UsageError
from assistant.eval import fetch as fetch_module
from assistant.eval.fetch import Archive, VerifyError, fetch, pinned_archive
from assistant.eval.suite import load_suite

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evals"


def _archive() -> bytes:
    """A tar.gz shaped like GitHub's archive of the benchmark: one top folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(EXAMPLES / "leap", "polyglot-benchmark-abc/python/exercises/practice/leap")
    return buffer.getvalue()


@pytest.fixture
def served() -> Iterator[tuple[str, bytes]]:
    body = _archive()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/archive.tar.gz", body
    finally:
        server.shutdown()
        server.server_close()


def test_a_verified_archive_is_unpacked_into_the_cache(
    served: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, body = served
    opened: list[tuple[str, ...]] = []
    real = netguard.allow_network

    def spy(hosts, suffixes=()):  # type: ignore[no-untyped-def]
        opened.append(tuple(hosts))
        return real(hosts, suffixes)

    monkeypatch.setattr(netguard, "allow_network", spy)
    archive = pinned_archive(len(body), hashlib.sha256(body).hexdigest(), url)
    root = fetch(archive)
    assert root.parent == fetch_module.evals_dir()
    [task] = load_suite(root)
    assert task.slug == "leap"
    assert opened == [("127.0.0.1",)]  # the guard was opened for the archive's host only
    assert not list(root.parent.glob("*.tar.gz*"))  # the archive is removed once unpacked
    assert fetch(archive) == root  # a second fetch does not download again


@pytest.mark.parametrize("wrong", ["size", "sha256", "larger"])
def test_a_wrong_archive_is_refused_and_removed(
    served: tuple[str, bytes], tmp_path: Path, wrong: str
) -> None:
    url, body = served
    digest = hashlib.sha256(body).hexdigest()
    archive = {
        "size": Archive(url, len(body) + 1, digest, "x"),
        "sha256": Archive(url, len(body), "0" * 64, "x"),
        "larger": Archive(url, len(body) - 10, digest, "x"),
    }[wrong]
    with pytest.raises(VerifyError, match="removed"):
        fetch_module.download(archive, tmp_path / "a.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_without_a_pinned_hash_fetch_asks_for_one() -> None:
    if fetch_module.POLYGLOT_SHA256:
        pytest.skip("this build pins the archive")
    with pytest.raises(UsageError, match="--sha256"):
        pinned_archive()
    with pytest.raises(UsageError, match="64 hex"):
        pinned_archive(10, "abc")
    assert fetch_module.POLYGLOT_URL.startswith(
        "https://github.com/Aider-AI/polyglot-benchmark/archive/"
    )
