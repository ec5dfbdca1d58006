"""What the review asks of a model, and the two ways to answer.

`LlamaReviewer` runs the local engine: chat-formatted prompt ids, the findings
grammar, the fixed prefix marked as `cache_boundary` so the engine saves and
re-loads its KV state from the disk prefix cache.

`ReplayReviewer` is a test seam: it answers from a file of canned model output
instead of a model (`--replay FILE` or `ASSISTANT_REVIEW_REPLAY=FILE`). The
file holds either one answer (used for every chunk) or a JSON list of answer
strings (used in order; the last one repeats). It lets tests drive the hook and
the CLI deterministically; the answers still go through parsing, validation
and anchoring like real ones."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from assistant.llm.engine import (
    CancelToken,
    Engine,
    GenerationRequest,
    GenerationStats,
    GrammarSpec,
    SamplingParams,
    StopReason,
)
from assistant.review.findings import Limits, findings_grammar

REPLAY_ENV = "ASSISTANT_REVIEW_REPLAY"


@dataclass(frozen=True)
class ReviewRequest:
    system: str  # the fixed part: same for every chunk and every run
    shared: str  # same for every chunk of this run (repo map)
    chunk: str  # this chunk's files and hunks
    files: tuple[str, ...]  # the files the answer may name
    # Hears (evaluated, total) prompt tokens after each batch the model reads.
    on_progress: Callable[[int, int], None] | None = field(default=None, compare=False)


@dataclass
class Reply:
    text: str
    stats: GenerationStats | None = None
    cancelled: bool = False
    seconds: float = 0.0
    cut: bool = False  # generation stopped at the token limit, not at the end of the answer


class Reviewer(Protocol):
    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def system_tokens(self, system: str) -> int:
        """Tokens of the fixed prefix (system turn and template text)."""
        ...

    def max_answer_tokens(self) -> int: ...

    def review(self, request: ReviewRequest, cancel: CancelToken | None = None) -> Reply: ...

    def close(self) -> None: ...


class LlamaReviewer:
    def __init__(
        self,
        engine: Engine,
        limits: Limits,
        max_answer_tokens: int = 1024,
        sampling: SamplingParams | None = None,
        template_path: Path | None = None,
    ) -> None:
        from assistant.protocols.detect import make_protocol

        self.engine = engine
        self.limits = limits
        self._max_answer = max_answer_tokens
        self.sampling = sampling or SamplingParams(temperature=0.0)
        protocol = make_protocol(
            engine.tokenizer, engine.chat_template, engine.metadata, template_path=template_path
        )
        from assistant.review.chat import ChatPrompter  # protocols load with the model

        self.prompter = ChatPrompter(protocol)

    @property
    def n_ctx(self) -> int:
        return self.engine.n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self.engine.tokenizer.tokenize(text, special=False))

    def system_tokens(self, system: str) -> int:
        return len(self.prompter.prefix(system))

    def max_answer_tokens(self) -> int:
        return self._max_answer

    def review(self, request: ReviewRequest, cancel: CancelToken | None = None) -> Reply:
        prompt = self.prompter.render(request.system, [request.shared, request.chunk])
        grammar = GrammarSpec(findings_grammar(request.files, self.limits))
        generation = GenerationRequest(
            prompt=prompt.ids,
            max_tokens=self._max_answer,
            sampling=self.sampling,
            grammar=grammar,
            cache_boundary=prompt.boundary,
            on_progress=request.on_progress,
        )
        start = time.perf_counter()
        pieces: list[bytes] = []
        eos = self.engine.tokenizer.eos_ids
        for token in self.engine.generate(generation, cancel):
            if token.id not in eos:
                pieces.append(token.piece)
        stats = self.engine.last_stats
        return Reply(
            b"".join(pieces).decode("utf-8", "replace"),
            stats,
            cancelled=stats.stop_reason is StopReason.CANCELLED,
            seconds=time.perf_counter() - start,
            cut=stats.stop_reason is StopReason.MAX_TOKENS,
        )

    def close(self) -> None:
        self.engine.close()


class ReplayReviewer:
    def __init__(self, path: Path, n_ctx: int = 8192) -> None:
        text = path.read_text(encoding="utf-8")
        answers: Sequence[str] = [text]
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, list) and all(isinstance(a, str) for a in data) and data:
            answers = data
        self._answers = list(answers)
        self._n_ctx = n_ctx
        self.calls = 0

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)  # a rough estimate is enough without a model

    def system_tokens(self, system: str) -> int:
        return self.count_tokens(system)

    def max_answer_tokens(self) -> int:
        return 1024

    def review(self, request: ReviewRequest, cancel: CancelToken | None = None) -> Reply:
        answer = self._answers[min(self.calls, len(self._answers) - 1)]
        self.calls += 1
        return Reply(answer, cancelled=bool(cancel is not None and cancel.cancelled))

    def close(self) -> None:
        pass
