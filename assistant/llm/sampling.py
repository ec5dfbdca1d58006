"""Token sampling with an optional grammar, fast on a CPU.

Applying a GBNF grammar to every candidate of a 262k-token vocabulary costs
hundreds of milliseconds per token. Like llama.cpp's own common sampler, we
sample freely first and ask the grammar about that one token; only when it is
rejected do we constrain, and then first on the top candidates by logit (the
best valid tokens overall are among them whenever any is), falling back to the
whole vocabulary only when none of those is valid."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.llm.engine import GrammarSpec, SamplingParams

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
TOP_CANDIDATES = 2048


class Sampler:
    def __init__(
        self,
        llama: Any,
        sampling: SamplingParams,
        grammar: GrammarSpec | None,
        seed: int,
        piece: Callable[[int], bytes],
    ) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._llama = llama
        self._piece = piece
        self._ctx = llama._ctx.ctx
        self._n_vocab = int(llama.n_vocab())
        self._free = self._make_chain(sampling, sampling.temperature, seed)
        # Free text and grammar-constrained output (tool-call arguments) may
        # sample at different temperatures; the grammar's chain takes over
        # once the grammar is active.
        grammar_temp = sampling.grammar_temperature
        if grammar is None or grammar_temp is None or grammar_temp == sampling.temperature:
            self._bound = self._free
        else:
            self._bound = self._make_chain(sampling, grammar_temp, seed)
        self._chain = self._free
        self._grammar: Any = None
        self._lazy_triggers: frozenset[int] = frozenset()
        self._buffer = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
        self._one = np.zeros(1, dtype=_TOKEN_DATA)
        # A text trigger: free until the output ends with one of these, then the grammar.
        self._waiting_for: tuple[str, ...] = ()
        self._tail = b""
        self._deferred: GrammarSpec | None = None
        if grammar is not None and grammar.trigger_texts:
            self._waiting_for = grammar.trigger_texts
            self._deferred = grammar
        elif grammar is not None:
            self._grammar = self._make_grammar(grammar)
            if grammar.trigger_ids:
                self._lazy_triggers = grammar.trigger_ids  # active from a trigger on
            else:
                self._chain = self._bound

    def _make_chain(self, sampling: SamplingParams, temperature: float, seed: int) -> Any:
        from llama_cpp import _internals as internals

        chain = internals.LlamaSampler()
        if sampling.repeat_penalty != 1.0:
            chain.add_penalties(self._n_vocab, 64, sampling.repeat_penalty, 0.0, 0.0)
        if temperature <= 0:
            chain.add_greedy()
        else:
            chain.add_top_k(sampling.top_k)
            chain.add_top_p(sampling.top_p, 1)
            chain.add_min_p(sampling.min_p, 1)
            chain.add_temp(temperature)
            chain.add_dist(seed)
        return chain

    def _make_grammar(self, spec: GrammarSpec) -> Any:
        lib = self._lib
        vocab = self._llama._model.vocab
        gbnf, root = spec.gbnf.encode(), b"root"
        if spec.trigger_ids:
            tokens = sorted(spec.trigger_ids)
            token_array = (lib.llama_token * len(tokens))(*tokens)
            patterns = (ctypes.c_char_p * 0)()
            sampler = lib.llama_sampler_init_grammar_lazy_patterns(
                vocab, gbnf, root, patterns, 0, token_array, len(tokens)
            )
        else:
            sampler = lib.llama_sampler_init_grammar(vocab, gbnf, root)
        if not sampler:
            raise ValueError("llama.cpp rejected the grammar (run with --verbose for its log)")
        return sampler

    def close(self) -> None:
        if self._grammar is not None:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None
        self._free.close()
        if self._bound is not self._free:
            self._bound.close()

    def __del__(self) -> None:
        self.close()

    def _array(self, data: np.ndarray, size: int) -> Any:
        lib = self._lib
        return lib.llama_token_data_array(
            data=data.ctypes.data_as(lib.llama_token_data_p), size=size, selected=-1, sorted=False
        )

    def _grammar_allows(self, token: int) -> bool:
        self._one["id"][0], self._one["logit"][0], self._one["p"][0] = token, 0.0, 0.0
        arr = self._array(self._one, 1)
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(arr))
        return bool(np.isfinite(self._one["logit"][0]))

    def _constrained(self, logits: np.ndarray, candidates: np.ndarray | None) -> int | None:
        """Grammar, then the chain, over `candidates` (all tokens when None)."""
        size = self._n_vocab if candidates is None else len(candidates)
        data = self._buffer[:size]
        if candidates is None:
            data["id"] = np.arange(size, dtype=np.int32)
            data["logit"] = logits
        else:
            data["id"] = candidates
            data["logit"] = logits[candidates]
        data["p"] = 0.0
        arr = self._array(data, size)
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(arr))
        if not np.isfinite(data["logit"][: arr.size]).any():
            return None
        self._lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(arr))
        if arr.selected < 0:
            return None
        return int(data["id"][arr.selected])

    def _watch_for_trigger(self, token: int) -> None:
        piece = self._piece(token)
        self._tail = (self._tail + piece)[-256:]
        text = self._tail.decode("utf-8", errors="ignore")
        if self._deferred is not None and any(text.endswith(t) for t in self._waiting_for):
            self._grammar = self._make_grammar(self._deferred)
            self._deferred, self._waiting_for = None, ()
            self._chain = self._bound

    def sample(self) -> int:
        token = int(self._lib.llama_sampler_sample(self._chain.sampler, self._ctx, -1))
        if self._grammar is None:
            if self._waiting_for:
                self._watch_for_trigger(token)
            return token
        if not self._grammar_allows(token):
            logits = np.ctypeslib.as_array(
                self._lib.llama_get_logits_ith(self._ctx, -1), shape=(self._n_vocab,)
            )
            top = np.argpartition(-logits, TOP_CANDIDATES)[:TOP_CANDIDATES].astype(np.int32)
            choice = self._constrained(logits, top)
            if choice is None:
                choice = self._constrained(logits, None)
            if choice is None:
                raise RuntimeError("no token satisfies the grammar")
            token = choice
        self._lib.llama_sampler_accept(self._grammar, token)
        if token in self._lazy_triggers:
            self._chain, self._lazy_triggers = self._bound, frozenset()
        return token
