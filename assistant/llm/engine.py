"""The engine's small typed interface: what a caller asks for and what it gets
back. Protocols and the agent loop depend on this module, never on llama_cpp."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.errors import ModelLoadError
from assistant.llm.repetition import RepetitionDetector, RepetitionLimit
from assistant.llm.tokenizer import Tokenizer


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.2
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    seed: int | None = None
    # The temperature once a grammar constrains the output (tool-call
    # arguments); None: `temperature` throughout. See llm/sampling_defaults.py.
    grammar_temperature: float | None = None


@dataclass(frozen=True)
class GrammarSpec:
    """A GBNF grammar constraining generation (llama.cpp's grammar sampler).

    With `trigger_ids` empty the grammar applies from the first generated token.
    Otherwise generation is free until one of `trigger_ids` is sampled, and the
    grammar constrains everything from that token on: it must itself start with
    the trigger token (write it as a token reference, e.g. `<[id]>`). Once the
    grammar is complete only end-of-generation tokens can follow, so a tool-call
    grammar ends where the model must stop and wait for results.

    `trigger_texts` are for a trigger that is several tokens: the grammar starts
    once the output ends with one of them and describes only what follows it.
    (The engine watches the text itself: llama.cpp's regex triggers re-match the
    whole output on every token, which is slow and can overflow its stack.)"""

    gbnf: str
    trigger_ids: frozenset[int] = frozenset()
    trigger_texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationRequest:
    prompt: Sequence[int]
    max_tokens: int = 1024
    sampling: SamplingParams = field(default_factory=SamplingParams)
    grammar: GrammarSpec | None = None
    stop_ids: frozenset[int] = frozenset()  # besides the model's own end-of-generation ids
    # Where the caller's stable prefix ends (system prompt, tools…): the engine
    # may save the KV state there to the disk prefix cache.
    cache_boundary: int | None = None
    # Stop when the output loops (see llm/repetition.py); None: never.
    repetition: RepetitionLimit | None = None
    # Called as (done, total) after each batch of prompt evaluation, counting
    # only the tokens that are evaluated (not those re-used from the KV cache
    # or loaded from disk), so a long prompt can show how far it has got.
    on_progress: Callable[[int, int], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class GeneratedToken:
    id: int
    piece: bytes


class StopReason(enum.Enum):
    """Why generation stopped. The engine reports END_OF_TURN (an end-of-generation
    or stop id), MAX_TOKENS or CANCELLED; a protocol's parser refines END_OF_TURN
    into TOOL_CALL, or reports ERROR."""

    END_OF_TURN = "end_of_turn"  # the model closed its turn (<turn|> / <eos>)
    TOOL_CALL = "tool_call"  # the model stopped to wait for tool results
    MAX_TOKENS = "max_tokens"
    CANCELLED = "cancelled"  # Ctrl-C or an explicit cancel
    REPETITION = "repetition"  # the engine cut a degenerate loop short
    ERROR = "error"


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0  # already in the KV cache, not evaluated again
    loaded_tokens: int = 0  # restored from the disk prefix cache
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    prompt_eval_ms: float = 0.0
    generation_ms: float = 0.0
    stop_reason: StopReason | None = None  # None until a generation has ended
    repeated_tokens: int = 0  # with stop_reason REPETITION: the looping span
    saved_tokens: int = 0  # with stop_reason REPETITION: budget left unused

    @property
    def tokens_per_second(self) -> float:
        if self.generation_ms <= 0:
            return 0.0
        return self.generated_tokens / (self.generation_ms / 1000.0)


def check_prompt(prompt: Sequence[int], n_ctx: int, whose: str = "the") -> None:
    """Refuse, before any work, a prompt no engine can run: empty, or too long
    for the context (`whose`: "the", or "the server's")."""
    if not prompt:
        raise ValueError("empty prompt")
    if len(prompt) >= n_ctx:
        raise ModelLoadError(
            f"prompt of {len(prompt)} tokens does not fit {whose} {n_ctx}-token context"
        )


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading ids two token sequences share (the KV cache holds the
    first one; the second is the next prompt)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class TokenStops:
    """The stop rule every engine applies after each generated token, so an
    in-process model, a team server and a scripted replay stop alike: an
    end-of-generation or stop id ends the turn, the budget ends it at
    MAX_TOKENS, and a looping output (llm/repetition.py) ends it at REPETITION
    with the looping span and the unused budget recorded in `stats`."""

    def __init__(
        self,
        request: GenerationRequest,
        eos_ids: frozenset[int],
        n_ctx: int,
        stats: GenerationStats,
    ) -> None:
        self.stop_ids = eos_ids | request.stop_ids
        # Tokens that may be generated: what was asked, and what the context
        # has room for after the prompt.
        self.budget = min(request.max_tokens, n_ctx - len(request.prompt) - 1)
        self.generated = 0
        self._stats = stats
        self._loops = RepetitionDetector(request.repetition) if request.repetition else None

    def after(self, token: int) -> StopReason | None:
        """Count `token` (already yielded); the reason to stop now, if any."""
        self.generated += 1
        if token in self.stop_ids:
            return StopReason.END_OF_TURN
        if self.generated >= self.budget:
            return StopReason.MAX_TOKENS
        loop = self._loops.feed(token) if self._loops is not None else None
        if loop is not None:
            self._stats.repeated_tokens = loop.span
            self._stats.saved_tokens = self.budget - self.generated
            return StopReason.REPETITION
        return None


class CancelToken:
    """Set from another thread (or a signal handler) to stop generation within one token."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def reset(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Engine(Protocol):
    @property
    def tokenizer(self) -> Tokenizer: ...

    @property
    def n_ctx(self) -> int: ...

    @property
    def chat_template(self) -> str | None: ...

    @property
    def metadata(self) -> dict[str, str]:
        """The model's GGUF metadata, as far as the engine knows it."""
        ...

    @property
    def name(self) -> str:
        """What to call the model in messages and the trace."""
        ...

    @property
    def description(self) -> str:
        """One line for `/model`: model, context, where it runs."""
        ...

    @property
    def last_stats(self) -> GenerationStats: ...

    @property
    def cached_tokens(self) -> list[int]:
        """The token sequence the KV cache holds now (the loop reports how much of
        the next prompt must still be read)."""
        ...

    def close(self) -> None: ...

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Generator[GeneratedToken, None, None]:
        """Stream generated tokens. Stops at the model's end-of-generation ids or
        `stop_ids` (the stop token is yielded last), at `max_tokens`, or when
        cancelled. A caller that saw the turn end where no id marks it (a
        protocol whose tags are plain text) closes the generator: that stops
        generation too, as END_OF_TURN. `last_stats` describes the call once
        the generator is done."""
        ...
