"""`ScriptedEngine`: an `Engine` that replays given token ids instead of
running a model, for exact tests of everything above the engine (the agent
loop, sessions, compaction, limits).

Each `generate` call that samples replays the next scripted turn, token by
token, and stops the way the real engine stops: at an end-of-generation id of
the vocabulary or a request's `stop_ids` (yielded last), at `max_tokens` (or
the context's end), or when cancelled. Its stats follow `LlamaEngine`: the KV
cache holds the previous prompt plus the generated tokens that were fed back,
`reused_tokens` is the common prefix with it (never the whole prompt: the
last prompt token is evaluated again for fresh logits), and `evaluated_tokens`
is the rest. Every request is kept in `requests` so a test can assert on what
the model was sent: prompt ids, grammar, sampling, stop ids.

The script is strict, like mini-swe-agent's DeterministicModel and httpx's
MockTransport: a call with no turn left, or a turn that runs out before a stop
id or the token limit, raises `ScriptError` instead of inventing output. The
grammar is recorded, not enforced: a scripted turn is what the test says the
model produced.

The tokenizer is a real one (`from_vocab` loads a GGUF's vocabulary only, e.g.
the Gemma 4 vocab), so scripted turns are the ids a real model would emit."""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path

from assistant.llm.engine import (
    CancelToken,
    GeneratedToken,
    GenerationRequest,
    GenerationStats,
    StopReason,
    TokenStops,
    check_prompt,
    common_prefix_length,
)
from assistant.llm.tokenizer import Tokenizer
from assistant.llm.trace import TraceWriter


class ScriptError(RuntimeError):
    """The code under test asked the script for output it does not hold."""


class ScriptedEngine:
    def __init__(
        self,
        tokenizer: Tokenizer,
        turns: Iterable[Sequence[int]] = (),
        *,
        n_ctx: int = 4096,
        chat_template: str | None = None,
        metadata: dict[str, str] | None = None,
        path: Path = Path("scripted.gguf"),
        trace: TraceWriter | None = None,
    ) -> None:
        self._tokenizer = tokenizer
        self._turns: deque[list[int]] = deque(list(t) for t in turns)
        self._n_ctx = n_ctx
        self._chat_template = chat_template
        self._metadata = dict(metadata or {})
        self.path = path
        self.trace = trace
        self._stats = GenerationStats()
        self._cache: list[int] = []
        self.requests: list[GenerationRequest] = []
        self.replayed = 0  # turns consumed so far

    @classmethod
    def from_vocab(
        cls,
        vocab_path: Path,
        turns: Iterable[Sequence[int]] = (),
        *,
        n_ctx: int = 4096,
        trace: TraceWriter | None = None,
    ) -> ScriptedEngine:
        """A scripted engine with the tokenizer, chat template and metadata of a
        GGUF, loaded vocab-only (no weights, milliseconds)."""
        import llama_cpp

        from assistant.llm.llama import check_gguf_file
        from assistant.llm.llama_tokenizer import LlamaTokenizer

        check_gguf_file(vocab_path)
        llama = llama_cpp.Llama(model_path=str(vocab_path), vocab_only=True, verbose=False)
        metadata = {str(k): str(v) for k, v in llama.metadata.items()}
        return cls(
            LlamaTokenizer(llama),
            turns,
            n_ctx=n_ctx,
            chat_template=metadata.get("tokenizer.chat_template"),
            metadata=metadata,
            path=vocab_path,
            trace=trace,
        )

    # -- the script ----------------------------------------------------------------
    def add_turns(self, *turns: Sequence[int]) -> None:
        self._turns.extend(list(t) for t in turns)

    def add_text(self, *texts: str) -> None:
        """Turns written as the model's raw output; control-token strings such as
        `<|tool_call>` or `<turn|>` become their control ids (special=True)."""
        self.add_turns(*(self._tokenizer.tokenize(t, special=True) for t in texts))

    @property
    def pending(self) -> int:
        """Scripted turns not replayed yet."""
        return len(self._turns)

    # -- Engine ----------------------------------------------------------------------
    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def chat_template(self) -> str | None:
        return self._chat_template

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self._metadata)

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def description(self) -> str:
        return f"a scripted engine ({self.pending} turn(s) left) · context {self.n_ctx:,} tokens"

    def close(self) -> None:
        """Nothing to free: the script lives in memory."""

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def cached_tokens(self) -> list[int]:
        """The token sequence a real engine's KV cache would hold now."""
        return list(self._cache)

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Generator[GeneratedToken, None, None]:
        # Checked before the generator starts, as a caller of the real engine
        # sees them on the first next().
        prompt = list(request.prompt)
        self.requests.append(request)
        self._stats = GenerationStats(prompt_tokens=len(prompt))
        check_prompt(prompt, self._n_ctx)
        return self._replay(request, prompt, cancel)

    def _replay(
        self, request: GenerationRequest, prompt: list[int], cancel: CancelToken | None
    ) -> Generator[GeneratedToken, None, None]:
        stats = self._stats
        have = common_prefix_length(self._cache, prompt)
        stats.reused_tokens = min(have, len(prompt) - 1)
        stats.evaluated_tokens = len(prompt) - stats.reused_tokens
        self._cache = list(prompt)
        stops = TokenStops(request, self._tokenizer.eos_ids, self._n_ctx, stats)
        generated: list[int] = []
        reason = StopReason.MAX_TOKENS
        turn: list[int] | None = None
        try:
            while len(generated) < stops.budget:
                if cancel is not None and cancel.cancelled:
                    reason = StopReason.CANCELLED
                    break
                if turn is None:
                    turn = self._next_turn(len(self.requests))
                if len(generated) == len(turn):
                    raise ScriptError(
                        f"scripted turn {self.replayed} ended after {len(turn)} tokens "
                        "without an end-of-generation or stop id"
                    )
                token = turn[len(generated)]
                generated.append(token)
                yield GeneratedToken(token, self._tokenizer.piece(token))
                stop = stops.after(token)
                if stop is not None:
                    reason = stop
                    break
                self._cache.append(token)  # fed back, as the real engine evaluates it
        except GeneratorExit:
            reason = StopReason.END_OF_TURN  # the caller saw the turn end (Engine.generate)
            raise
        finally:
            stats.generated_tokens = len(generated)
            stats.stop_reason = reason
            if self.trace is not None:
                self.trace.record(
                    model=self.path.name, prompt=prompt, generated=generated, stats=stats
                )

    def _next_turn(self, call: int) -> list[int]:
        if not self._turns:
            raise ScriptError(f"model call {call} has no scripted turn left")
        self.replayed += 1
        return self._turns.popleft()
