"""Drive llama.cpp's own grammar sampler over token ids, without a model.

`accepts(ids)` asks the sampler, token by token, whether it would allow the
next id (a one-candidate `apply`), so a rejection is an answer, not a crash."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from typing import Any


class GrammarChecker:
    def __init__(self, llama: Any, gbnf: str) -> None:
        import llama_cpp

        self._lc = llama_cpp
        self._vocab = llama._model.vocab
        self._gbnf = gbnf
        probe = llama_cpp.llama_sampler_init_grammar(self._vocab, gbnf.encode(), b"root")
        if not probe:
            raise ValueError("llama.cpp rejected the grammar")
        llama_cpp.llama_sampler_free(probe)

    def _allowed(self, sampler: Any, token: int) -> bool:
        lc = self._lc
        data = (lc.llama_token_data * 1)(lc.llama_token_data(token, 0.0, 0.0))
        arr = lc.llama_token_data_array(ctypes.cast(data, lc.llama_token_data_p), 1, -1, False)
        lc.llama_sampler_apply(sampler, ctypes.byref(arr))
        return not math.isinf(data[0].logit)

    def accepts(self, ids: Sequence[int], end_id: int | None = None) -> bool:
        """Whether the grammar allows `ids` in order and, with `end_id` (an
        end-of-generation id), is complete after them."""
        lc = self._lc
        sampler = lc.llama_sampler_init_grammar(self._vocab, self._gbnf.encode(), b"root")
        try:
            for token in ids:
                if not self._allowed(sampler, token):
                    return False
                lc.llama_sampler_accept(sampler, token)
            return end_id is None or self._allowed(sampler, end_id)
        finally:
            lc.llama_sampler_free(sampler)
