"""`Tokenizer` over a loaded llama.cpp vocabulary.

llama.cpp matches USER_DEFINED tokens even when asked not to parse special
tokens, and Gemma 4 declares its tool-call markers (`<|tool_call>`, `<|"|>`,
`<|channel>`…) as USER_DEFINED. So `tokenize(special=False)` here does one more
step: any control or user-defined id that came out of untrusted text is replaced
by the same characters tokenized one by one. The text is unchanged; the
protocol-level meaning is gone."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import llama_cpp


class LlamaTokenizer:
    def __init__(self, llama: Any) -> None:
        self._llama = llama
        self._vocab = llama._model.vocab
        self._pieces: dict[int, bytes] = {}

    @cached_property
    def n_vocab(self) -> int:
        return int(llama_cpp.llama_vocab_n_tokens(self._vocab))

    @cached_property
    def _protected(self) -> frozenset[int]:
        mask = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        get_attr = llama_cpp.llama_vocab_get_attr
        return frozenset(i for i in range(self.n_vocab) if get_attr(self._vocab, i) & mask)

    @property
    def protected_ids(self) -> frozenset[int]:
        """Ids that untrusted text can never produce."""
        return self._protected

    @cached_property
    def bos_id(self) -> int | None:
        token = int(llama_cpp.llama_vocab_bos(self._vocab))
        return token if token >= 0 else None

    @cached_property
    def eos_ids(self) -> frozenset[int]:
        return frozenset(
            i for i in self._protected if llama_cpp.llama_vocab_is_eog(self._vocab, i)
        ) | frozenset(t for t in (int(llama_cpp.llama_vocab_eos(self._vocab)),) if t >= 0)

    def _raw(self, text: str, special: bool) -> list[int]:
        if not text:
            return []
        return list(self._llama.tokenize(_utf8(text), add_bos=False, special=special))

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        ids = self._raw(text, special)
        if special or not any(i in self._protected for i in ids):
            return ids
        out: list[int] = []
        for token in ids:
            if token not in self._protected:
                out.append(token)
                continue
            for char in self.piece(token).decode("utf-8", errors="replace"):
                out.extend(self._raw(char, special=False))
        return out

    def piece(self, token_id: int) -> bytes:
        cached = self._pieces.get(token_id)
        if cached is not None:
            return cached
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self._vocab, token_id, buf, size, 0, True)
            if n >= 0:
                break
            size = -n  # llama.cpp returns the negated size it needs
        piece = buf.raw[:n]
        self._pieces[token_id] = piece
        return piece

    def is_control(self, token_id: int) -> bool:
        return token_id in self._protected

    def detokenize(self, ids: Sequence[int]) -> str:
        return b"".join(self.piece(i) for i in ids).decode("utf-8", errors="replace")

    def token_id(self, text: str) -> int | None:
        ids = self._raw(text, special=True)
        if len(ids) == 1 and self.piece(ids[0]) == text.encode("utf-8"):
            return ids[0]
        return None


def _utf8(text: str) -> bytes:
    """Text as UTF-8 bytes. Text read with `surrogateescape` (a file or diff
    that is not UTF-8) gets its original bytes back; any other lone surrogate
    becomes U+FFFD rather than an exception."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace")
