"""`RemoteEngine`: the `Engine` interface over a llama.cpp `llama-server` the
user runs (`--endpoint URL`), for teams that share one GPU box.

It speaks the server's native API in token ids, so everything above the engine
(protocols, our own Gemma 4 parser, grammars, session, agent, review) is the
same as in-process:

- `POST /completion` with the prompt as an id array, `stream` (SSE) and
  `return_tokens` for the generated ids, `cache_prompt` so the server's slot
  evaluates only the new suffix, `id_slot` so one session keeps its slot (and
  its KV cache), and the grammar, lazy-grammar triggers and sampling values of
  the request.
- `POST /tokenize` and `/detokenize` for the vocabulary, `GET /props` for the
  chat template, context size, slots and build, `GET /health` to check it.

The server's own API reference is `tools/server/README.md` of the llama.cpp
vendored in the pinned llama-cpp-python sdist."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import AssistantError, GenerationFailed, ModelNotFoundError, UsageError
from assistant.llm.engine import (
    CancelToken,
    GeneratedToken,
    GenerationRequest,
    GenerationStats,
    GrammarSpec,
    StopReason,
    TokenStops,
    check_prompt,
)
from assistant.llm.trace import TraceWriter

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 120.0  # between two streamed events; a long prompt sends progress meanwhile
POLL_S = 0.1  # how often a stream waiting for data looks at the cancel token and its deadline
MAX_LINE_BYTES = 16 << 20  # one event line; llama-server's are a few KB
MEMO_CHARS = 4_000_000  # tokenizations kept per tokenizer, in characters of text
GRAMMAR_TRIGGER_TOKEN = 0  # llama.cpp common_grammar_trigger_type
GRAMMAR_TRIGGER_WORD = 1
# A control-token-looking string in a chat template: "<|turn>", "<turn|>", '<|"|>', "<eos>".
_MARKER = re.compile(r"<[^<>\s]{1,40}>")


class EndpointError(AssistantError):
    """The server could not be used; the message says what to check."""

    exit_code = 3


class EndpointDropped(GenerationFailed):
    """The connection broke in the middle of an answer."""


def check_endpoint(url: str) -> str:
    """The `--endpoint` URL, checked: http(s), a host, a port in range. A bad
    one is a usage error (exit 2) with one line that names the problem."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError: out of range, not a number
    except ValueError as exc:
        raise UsageError(f"--endpoint {_shown(url)} is not a usable URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--endpoint must be an http:// or https:// URL, not {_shown(url)}")
    if port == 0:
        raise UsageError(f"--endpoint {_shown(url)} is not a usable URL: port 0")
    return url


def _shown(url: str) -> str:
    """A bad URL as it may be printed: without any password in it."""
    head, at, tail = url.rpartition("@")
    if at and "://" in head:
        scheme, _, _ = head.partition("://")
        return repr(f"{scheme}://…@{tail}")
    return repr(url)


def describe_endpoint(url: str) -> str:
    """The URL without credentials, for messages and the trace. An IPv6 host
    keeps its brackets (`http://[::1]:8080`)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class ServerInfo:
    """What `/props` says about the server and its model."""

    url: str
    model_path: str
    n_ctx: int
    total_slots: int
    build_info: str
    chat_template: str | None
    bos_token: str
    eos_token: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    n_vocab: int = 0  # from /v1/models (/props does not say); 0: unknown

    @property
    def model_name(self) -> str:
        return self.model_path.replace("\\", "/").rsplit("/", 1)[-1] or "server model"


class ServerClient:
    """A thin typed layer over httpx for one llama-server. The API key travels
    only in the Authorization header: never in messages, the trace or logs."""

    def __init__(
        self, url: str, api_key: str | None = None, *, read_timeout: float = READ_TIMEOUT_S
    ) -> None:
        import httpx

        self.url = describe_endpoint(check_endpoint(url))
        self.read_timeout = read_timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # https uses the system CA store (httpx's default through certifi is
        # replaced by the OS bundle via SSL_CERT_FILE / truststore where set).
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S),
            trust_env=False,  # no proxy from the environment: the endpoint is the only host
        )

    def close(self) -> None:
        self._http.close()

    def _check(self, response: Any) -> Any:
        if response.status_code == 401:
            raise EndpointError(
                f"{self.url} refused the API key (401): set ASSISTANT_API_KEY to the server's --api-key"
            )
        if response.status_code == 404:
            raise EndpointError(
                f"{self.url} has no {response.request.url.path}: is it a llama.cpp llama-server?"
            )
        if response.status_code == 503:
            raise EndpointError(f"{self.url} is still loading its model (503); try again shortly")
        if response.status_code >= 400:
            raise EndpointError(
                f"{self.url} answered {response.status_code}: {_error_text(response.text)}"
            )
        try:
            return response.json()
        except ValueError:
            raise EndpointError(
                f"{self.url} did not answer JSON: is it a llama.cpp llama-server?"
            ) from None

    def get(self, path: str) -> Any:
        return self._idempotent("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """A short request that changes nothing on the server (`/tokenize`,
        `/detokenize`): it is safe to send twice."""
        return self._idempotent("POST", path, body)

    def _idempotent(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        import httpx

        # A kept-alive connection the server closed (its 5 s keep-alive
        # timeout) can be handed out by the pool just before its FIN arrives:
        # the request then meets a closed socket and nothing was done. Such a
        # request is sent once more, on a fresh connection; any other failure,
        # or a second one, is the server's answer.
        for attempt in (1, 2):
            try:
                return self._check(self._http.request(method, path, json=body))
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if attempt == 2:
                    raise EndpointError(_unreachable(self.url, exc)) from exc
            except httpx.HTTPError as exc:
                raise EndpointError(_unreachable(self.url, exc)) from exc
        raise AssertionError("unreachable")

    def stream(
        self, path: str, body: dict[str, Any], cancel: CancelToken | None
    ) -> Generator[dict[str, Any], None, None]:
        """The server-sent events of one streamed request, as JSON objects.
        Closing the iterator closes the connection, which stops the server's work.

        Every wait has a deadline: `read_timeout` seconds without a `data:`
        event ends the stream, however many comments (`: ping`), blank lines
        or bytes of an unfinished line arrive meanwhile; and a cancel (Ctrl-C,
        `--timeout`) is seen within `POLL_S` even while the server says nothing."""
        import httpx

        try:
            # llama-server closes the connection after every streamed answer
            # (its chunked provider returns false after `sink.done()`, which
            # cpp-httplib takes for a failed write: tools/server/server-http.cpp)
            # yet says `Keep-Alive`. Pooled, that connection would fail the
            # next request whenever it is sent before the FIN lands; asking for
            # `close` keeps it out of the pool.
            with self._http.stream(
                "POST", path, json=body, headers={"Connection": "close"}
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check(response)
                yield from self._events(response, cancel)
        except httpx.TimeoutException as exc:
            raise EndpointDropped(
                f"{self.url} stopped answering (no data for {self.read_timeout:g} s)"
            ) from exc
        except httpx.HTTPError as exc:
            raise EndpointDropped(f"lost the connection to {self.url} mid-answer ({exc})") from exc

    def _events(
        self, response: Any, cancel: CancelToken | None
    ) -> Generator[dict[str, Any], None, None]:
        for line in _LineReader(response, self.read_timeout, cancel, self.url):
            if not line.startswith(b"data:"):
                continue  # blank separators, ": ping" comments, other SSE fields
            data = line[5:].strip().decode("utf-8", errors="replace")
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise EndpointDropped(f"{self.url} sent a malformed event: {data[:80]!r}") from None
            if not isinstance(event, dict):
                raise EndpointDropped(f"{self.url} sent a malformed event: {data[:80]!r}")
            if "error" in event:
                raise EndpointDropped(f"{self.url}: {_error_text(json.dumps(event))}")
            yield event


_END = object()


class _LineReader:
    """The lines of a streamed response, read by a helper thread so that the
    caller's waits are bounded: by a deadline that only a `data:` line
    renews, and by the cancel token. httpx's own read timeout restarts with
    every byte, so a server that sends a comment every second, or one byte of
    a line that never ends, would otherwise hold the caller for good."""

    def __init__(self, response: Any, timeout: float, cancel: CancelToken | None, url: str) -> None:
        self._response = response
        self._timeout = timeout
        self._cancel = cancel
        self._url = url
        self._chunks: queue.Queue[object] = queue.Queue(maxsize=64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True, name="sse-reader")

    def _read(self) -> None:
        item: object = _END
        try:
            for chunk in self._response.iter_bytes():
                while not self._stop.is_set():
                    try:
                        self._chunks.put(chunk, timeout=POLL_S)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # handed to the caller's thread
            item = exc
        with contextlib.suppress(queue.Full):
            self._chunks.put(item, timeout=1.0)

    def __iter__(self) -> Iterator[bytes]:
        self._thread.start()
        try:
            yield from self._lines()
        finally:
            self._stop.set()
            _shut(self._response)  # wakes the reader blocked in recv()
            self._thread.join(1.0)

    def _lines(self) -> Iterator[bytes]:
        buffer = b""
        deadline = time.monotonic() + self._timeout
        while True:
            if self._cancel is not None and self._cancel.cancelled:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise EndpointDropped(
                    f"{self._url} stopped answering (no data for {self._timeout:g} s)"
                )
            try:
                item = self._chunks.get(timeout=min(left, POLL_S))
            except queue.Empty:
                continue
            if item is _END:
                if buffer.strip():
                    yield buffer.rstrip(b"\r")
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            buffer += item
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if line.startswith(b"data:"):
                    deadline = time.monotonic() + self._timeout
                yield line
                if self._cancel is not None and self._cancel.cancelled:
                    return
            if len(buffer) > MAX_LINE_BYTES:
                raise EndpointDropped(
                    f"{self._url} sent an event line over {MAX_LINE_BYTES >> 20} MB: "
                    "not a llama-server stream"
                )


def _shut(response: Any) -> None:
    """Shut the response's socket down: a thread blocked reading it returns at once."""
    import socket

    stream = getattr(response, "extensions", {}).get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _error_text(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))[:200]
    return str(error or data)[:200]


def _unreachable(url: str, exc: Exception) -> str:
    return (
        f"cannot reach the llama-server at {url} ({type(exc).__name__}); "
        f"check it runs and answers: curl {url}/health"
    )


def server_summary(url: str, api_key: str | None = None) -> dict[str, object]:
    """What `doctor` and `model info --endpoint` show about a server: its model,
    context per slot, slots, build and whether it caches prompts."""
    client = ServerClient(url, api_key)
    try:
        info = read_server_info(client)
        slots = client.get("/slots") if info.raw.get("endpoint_slots") else None
    except EndpointError as exc:
        if "/slots" not in exc.message:
            raise
        slots = None
    finally:
        client.close()
    params = (info.raw.get("default_generation_settings") or {}).get("params") or {}
    return {
        "endpoint": info.url,
        "model": info.model_name,
        "context per slot": info.n_ctx,
        "slots": info.total_slots,
        "slots busy": (
            sum(1 for s in slots if isinstance(s, dict) and s.get("is_processing"))
            if isinstance(slots, list)
            else "unknown (--no-slots)"
        ),
        "build": info.build_info,
        "prompt caching": "on" if params.get("cache_prompt", True) else "off",
        "chat template": info.chat_template or "",
    }


def read_server_info(client: ServerClient) -> ServerInfo:
    props = client.get("/props")
    if not isinstance(props, dict) or "default_generation_settings" not in props:
        raise EndpointError(
            f"{client.url}/props is not llama-server's: is it a llama.cpp llama-server?"
        )
    settings = props.get("default_generation_settings") or {}
    template = props.get("chat_template") or None
    return ServerInfo(
        url=client.url,
        model_path=str(props.get("model_path") or props.get("model_alias") or ""),
        n_ctx=int(settings.get("n_ctx") or 0),
        total_slots=int(props.get("total_slots") or 1),
        build_info=str(props.get("build_info") or ""),
        chat_template=str(template) if template else None,
        bos_token=str(props.get("bos_token") or ""),
        eos_token=str(props.get("eos_token") or ""),
        raw=props,
    )


def read_vocab_size(client: ServerClient) -> int:
    """The model's vocabulary size from `/v1/models` (`meta.n_vocab`); `/props`
    does not carry it. 0 when the server does not say."""
    try:
        models = client.get("/v1/models")
    except EndpointError:
        return 0
    data = models.get("data") if isinstance(models, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return 0
    meta = data[0].get("meta")
    n_vocab = meta.get("n_vocab") if isinstance(meta, dict) else None
    return n_vocab if isinstance(n_vocab, int) and not isinstance(n_vocab, bool) else 0


class RemoteTokenizer:
    """`Tokenizer` through the server's `/tokenize` and `/detokenize`.

    The server matches user-defined tokens (Gemma 4's tool-call markers) even
    with `parse_special: false`, as in-process llama.cpp does. So, as
    `LlamaTokenizer` does, untrusted text that came out as a protected id is
    re-tokenized character by character. The protected ids are every
    control-looking string of the chat template, and BOS/EOS, that the server
    maps to one id: the markers that carry protocol meaning."""

    def __init__(self, client: ServerClient, info: ServerInfo) -> None:
        self._client = client
        self._info = info
        self._pieces: dict[int, bytes] = {}
        self._single: dict[str, int | None] = {}
        # Prompts are re-rendered from their pieces every turn: each piece is
        # tokenized by the server once (bounded), not once per turn.
        self._memo: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        self._memo_chars = 0
        self._lock = threading.Lock()
        markers = set(_MARKER.findall(info.chat_template or ""))
        markers.update(t for t in (info.bos_token, info.eos_token) if t)
        protected = {}
        for marker in sorted(markers):
            token = self.token_id(marker)
            if token is not None:
                protected[token] = marker
        self._protected = frozenset(protected)
        self._bos = self.token_id(info.bos_token) if info.bos_token else None
        eos = {self.token_id(info.eos_token)} if info.eos_token else set()
        # The end of a turn ends generation too (llama.cpp's end-of-generation set).
        for marker in ("<turn|>", "<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|endoftext|>"):
            if marker in markers:
                eos.add(self.token_id(marker))
        self._eos = frozenset(t for t in eos if t is not None)

    @property
    def protected_ids(self) -> frozenset[int]:
        return self._protected

    @property
    def bos_id(self) -> int | None:
        return self._bos

    @property
    def eos_ids(self) -> frozenset[int]:
        return self._eos

    @property
    def n_vocab(self) -> int:
        return self._info.n_vocab or max(self._protected, default=0) + 1

    def _raw(self, text: str, special: bool) -> list[dict[str, Any]]:
        if not text:
            return []
        memo = self._memo.get((text, special))
        if memo is not None:
            return memo
        entries = self._raw_uncached(text, special)
        with self._lock:
            if self._memo_chars + len(text) > MEMO_CHARS:
                self._memo.clear()
                self._memo_chars = 0
            self._memo[(text, special)] = entries
            self._memo_chars += len(text)
        return entries

    def _raw_uncached(self, text: str, special: bool) -> list[dict[str, Any]]:
        data = self._client.post(
            "/tokenize",
            {"content": text, "add_special": False, "parse_special": special, "with_pieces": True},
        )
        tokens = data.get("tokens", []) if isinstance(data, dict) else []
        out = []
        for entry in tokens:
            token = int(entry["id"])
            piece = entry.get("piece", "")
            raw = bytes(piece) if isinstance(piece, list) else str(piece).encode("utf-8")
            with self._lock:
                self._pieces.setdefault(token, raw)
            out.append({"id": token, "piece": raw})
        return out

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        entries = self._raw(text, special)
        ids = [e["id"] for e in entries]
        if special or not any(i in self._protected for i in ids):
            return ids
        out: list[int] = []
        for entry in entries:
            if entry["id"] not in self._protected:
                out.append(entry["id"])
                continue
            for char in entry["piece"].decode("utf-8", errors="replace"):
                out.extend(e["id"] for e in self._raw(char, special=False))
        return out

    def piece(self, token_id: int) -> bytes:
        cached = self._pieces.get(token_id)
        if cached is not None:
            return cached
        data = self._client.post("/detokenize", {"tokens": [token_id]})
        raw = str(data.get("content", "") if isinstance(data, dict) else "").encode("utf-8")
        with self._lock:
            self._pieces[token_id] = raw
        return raw

    def is_control(self, token_id: int) -> bool:
        return token_id in self._protected

    def detokenize(self, ids: Sequence[int]) -> str:
        return b"".join(self.piece(i) for i in ids).decode("utf-8", errors="replace")

    def token_id(self, text: str) -> int | None:
        if text in self._single:
            return self._single[text]
        entries = self._raw(text, special=True)
        token = (
            entries[0]["id"] if len(entries) == 1 and entries[0]["piece"] == text.encode() else None
        )
        self._single[text] = token
        return token


def grammar_fields(grammar: GrammarSpec, tokenizer: RemoteTokenizer) -> dict[str, Any]:
    """The request fields for a grammar. llama.cpp feeds a lazy grammar from the
    start of its trigger: our text-triggered grammars describe what follows the
    trigger, so the trigger text is put in front of them here."""
    if grammar.trigger_ids:
        triggers = [
            {
                "type": GRAMMAR_TRIGGER_TOKEN,
                "value": tokenizer.piece(t).decode("utf-8", "replace"),
                "token": t,
            }
            for t in sorted(grammar.trigger_ids)
        ]
        return {"grammar": grammar.gbnf, "grammar_lazy": True, "grammar_triggers": triggers}
    if grammar.trigger_texts:
        body = re.sub(r"(?m)^root(\s*::=)", r"assistant-after-trigger\1", grammar.gbnf)
        options = " | ".join(json.dumps(t) for t in grammar.trigger_texts)
        gbnf = f"root ::= ({options}) assistant-after-trigger\n{body}"
        triggers = [{"type": GRAMMAR_TRIGGER_WORD, "value": t} for t in grammar.trigger_texts]
        return {"grammar": gbnf, "grammar_lazy": True, "grammar_triggers": triggers}
    return {"grammar": grammar.gbnf}


class RemoteEngine:
    """`Engine` over one llama-server. One engine keeps one slot (`id_slot`)
    when the server has several, so its conversation keeps its KV cache."""

    def __init__(
        self,
        client: ServerClient,
        info: ServerInfo,
        *,
        n_ctx: int | None = None,
        trace: TraceWriter | None = None,
        slot: int | None = None,
    ) -> None:
        self._client = client
        self.info = info
        self.trace = trace
        self._tokenizer = RemoteTokenizer(client, info)
        self._n_ctx = (
            min(n_ctx, info.n_ctx) if n_ctx and info.n_ctx else (info.n_ctx or n_ctx or 4096)
        )
        self._stats = GenerationStats()
        self._slot = slot
        self._sent: list[
            int
        ] = []  # what the slot's cache holds after our last call, as far as we know

    @classmethod
    def connect(
        cls,
        url: str,
        api_key: str | None = None,
        *,
        n_ctx: int | None = None,
        trace: TraceWriter | None = None,
        timeout: float = READ_TIMEOUT_S,
    ) -> RemoteEngine:
        client = ServerClient(url, api_key, read_timeout=timeout)
        try:
            health = client.get("/health")
            if not isinstance(health, dict) or health.get("status") not in (
                "ok",
                "no slot available",
            ):
                raise EndpointError(
                    f"{client.url}/health says {health!r}: is it a llama.cpp llama-server?"
                )
            info = read_server_info(client)
            info = replace(info, n_vocab=read_vocab_size(client))
            if not info.n_ctx:
                raise EndpointError(
                    f"{client.url} reports no context size: is it a llama.cpp llama-server?"
                )
            engine = cls(client, info, n_ctx=n_ctx, trace=trace)
        except BaseException:
            client.close()
            raise
        return engine

    def close(self) -> None:
        self._client.close()

    # -- Engine ----------------------------------------------------------------
    @property
    def tokenizer(self) -> RemoteTokenizer:
        return self._tokenizer

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def chat_template(self) -> str | None:
        return self.info.chat_template

    @property
    def metadata(self) -> dict[str, str]:
        meta = {"general.name": self.info.model_name}
        if self.info.chat_template:
            meta["tokenizer.chat_template"] = self.info.chat_template
        return meta

    @property
    def name(self) -> str:
        return f"{self.info.model_name} @ {self.info.url}"

    @property
    def description(self) -> str:
        return (
            f"{self.info.model_name} on {self.info.url} · context {self._n_ctx:,} tokens · "
            f"{self.info.total_slots} slot(s)"
        )

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def cached_tokens(self) -> list[int]:
        return list(self._sent)

    def check_same_model(self) -> None:
        """A server restarted with another model must not continue a session."""
        now = read_server_info(self._client)
        if now.model_path != self.info.model_path:
            raise ModelNotFoundError(
                f"{self.info.url} now serves {now.model_name}, not {self.info.model_name}; "
                "start a new session"
            )

    def _body(self, request: GenerationRequest, prompt: list[int], budget: int) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {
            "prompt": prompt,
            "n_predict": budget,
            "stream": True,
            "return_tokens": True,
            "cache_prompt": True,
            "temperature": sampling.temperature,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
            "min_p": sampling.min_p,
            "repeat_penalty": sampling.repeat_penalty,
            "seed": sampling.seed if sampling.seed is not None else -1,
            "samplers": ["top_k", "top_p", "min_p", "temperature"],
            "timings_per_token": True,  # stats arrive with every event, not only the last
        }
        if self._slot is not None:
            body["id_slot"] = self._slot
        if request.grammar is not None:
            body.update(grammar_fields(request.grammar, self._tokenizer))
        return body

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Generator[GeneratedToken, None, None]:
        prompt = list(request.prompt)
        self._stats = GenerationStats(prompt_tokens=len(prompt))
        check_prompt(prompt, self._n_ctx, "the server's")
        # The server stops at n_predict and its own end-of-generation; the rule
        # is applied here too, so stop ids and a looping output end the turn
        # (closing the stream stops the server) exactly as in-process.
        stops = TokenStops(request, self._tokenizer.eos_ids, self._n_ctx, self._stats)
        generated: list[int] = []
        reason = StopReason.MAX_TOKENS
        start = time.perf_counter()
        first: float | None = None
        finished = False  # the server's last event (stop: true) or our own stop came
        events = self._client.stream(
            "/completion", self._body(request, prompt, stops.budget), cancel
        )
        # Events without tokens (a server, or something in front of it, that
        # keeps talking without generating) do not renew the deadline either.
        progress = time.monotonic()
        try:
            for event in events:
                if first is None:
                    first = time.perf_counter()
                    self._stats.prompt_eval_ms = (first - start) * 1000
                if event.get("tokens") or event.get("stop"):
                    progress = time.monotonic()
                elif time.monotonic() - progress > self._client.read_timeout:
                    raise EndpointDropped(
                        f"{self.info.url} stopped answering (events but no tokens for "
                        f"{self._client.read_timeout:g} s)"
                    )
                slot = event.get("id_slot")
                if self._slot is None and isinstance(slot, int) and slot >= 0:
                    self._slot = slot  # keep the slot the server chose
                self._record_timings(event, len(prompt))
                stop = False
                for token in self._event_tokens(event):
                    generated.append(token)
                    yield GeneratedToken(token, self._streamed_piece(token))
                    cut = stops.after(token)
                    if cut is not None:
                        reason, stop = cut, True
                        break
                if event.get("stop"):
                    if not stop:
                        reason = {
                            "eos": StopReason.END_OF_TURN,
                            "word": StopReason.END_OF_TURN,
                        }.get(str(event.get("stop_type")), reason)
                    finished = True
                    break
                if stop:
                    finished = True
                    break
                if cancel is not None and cancel.cancelled:
                    reason = StopReason.CANCELLED
                    break
            else:
                if cancel is not None and cancel.cancelled:
                    reason = StopReason.CANCELLED
            if not finished and reason is not StopReason.CANCELLED:
                reason = StopReason.ERROR
                raise EndpointDropped(self._unfinished(first is not None, len(generated)))
        except GenerationFailed:
            reason = StopReason.ERROR
            raise
        except GeneratorExit:
            reason = StopReason.END_OF_TURN  # the caller saw the turn end (Engine.generate)
            raise
        finally:
            events.close()  # closing the connection stops the server's generation
            end = time.perf_counter()
            if first is not None:
                self._stats.generation_ms = (end - first) * 1000
            self._stats.generated_tokens = len(generated)
            self._stats.stop_reason = reason
            self._sent = prompt + generated
            if self.trace is not None:
                self.trace.record(
                    model=self.name, prompt=prompt, generated=generated, stats=self._stats
                )

    def _unfinished(self, any_event: bool, n_tokens: int) -> str:
        if not any_event:
            return (
                f"{self.info.url} answered without any data event (an empty or non-SSE "
                "response, no tokens): is it a llama.cpp llama-server?"
            )
        return (
            f"{self.info.url} ended the stream before its last event "
            f"(after {n_tokens} token{'s' if n_tokens != 1 else ''}, without stop)"
        )

    def _event_tokens(self, event: dict[str, Any]) -> list[int]:
        """The event's token ids, checked: whole numbers in the model's
        vocabulary. Anything else is a malformed stream, not a question for
        `/detokenize` (which answers a bad id with a 500)."""
        tokens = event.get("tokens")
        if tokens is None:
            return []
        if not isinstance(tokens, list):
            raise EndpointDropped(
                f"{self.info.url} sent a malformed event: tokens is {type(tokens).__name__}, "
                "not a list"
            )
        n_vocab = self.info.n_vocab
        for token in tokens:
            if not isinstance(token, int) or isinstance(token, bool):
                raise EndpointDropped(
                    f"{self.info.url} sent a malformed event: token {str(token)[:40]!r} "
                    "is not a token id"
                )
            if token < 0 or (n_vocab and token >= n_vocab):
                limit = f"0..{n_vocab - 1}" if n_vocab else "0 and up"
                raise EndpointDropped(
                    f"{self.info.url} sent a malformed event: token id {token} is outside "
                    f"the vocabulary ({limit})"
                )
        return tokens

    def _streamed_piece(self, token: int) -> bytes:
        try:
            return self._tokenizer.piece(token)
        except EndpointError as exc:
            # The id passed the vocabulary check (or the size is unknown) and
            # the server still cannot say what it is: the stream is at fault.
            raise EndpointDropped(
                f"{self.info.url} sent token id {token}, which its /detokenize refuses "
                f"({exc.message})"
            ) from None

    def _record_timings(self, event: dict[str, Any], prompt_len: int) -> None:
        timings = event.get("timings") or {}
        n_prompt = timings.get("prompt_n")
        cached = timings.get("cache_n")
        if isinstance(cached, int) and isinstance(n_prompt, int):
            self._stats.reused_tokens = min(cached, prompt_len)
            self._stats.evaluated_tokens = n_prompt
        elif isinstance(n_prompt, int):
            self._stats.evaluated_tokens = n_prompt
            self._stats.reused_tokens = max(0, prompt_len - n_prompt)
        elif isinstance(cached, int):
            self._stats.reused_tokens = min(cached, prompt_len)
            self._stats.evaluated_tokens = prompt_len - self._stats.reused_tokens
        if isinstance(timings.get("prompt_ms"), int | float):
            self._stats.prompt_eval_ms = float(timings["prompt_ms"])
