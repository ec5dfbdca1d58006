"""Building prompts as ids: control tokens by id, every text with special=False.

Adjacent texts are tokenized together, split only where a control token sits.
For text without control strings that is exactly what tokenizing the rendered
template with special=True gives (control tokens partition the text first), so
trusted text matches the model's own template id for id, while untrusted text
can never turn into a control id."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from assistant.llm.tokenizer import Tokenizer


def tokenize_untrusted(
    tokenizer: Tokenizer, text: str, protected: Collection[int], protected_texts: Iterable[str]
) -> list[int]:
    """`tokenizer.tokenize(text, special=False)`, checked: if a protected id
    came out anyway (llama.cpp matches USER_DEFINED tokens even then), split
    the text inside every protected string and tokenize the parts."""
    ids = tokenizer.tokenize(text, special=False)
    if not any(i in protected for i in ids):
        return ids
    pieces = [text]
    for marker in sorted(set(protected_texts), key=len, reverse=True):
        if len(marker) < 2:
            continue
        cut = marker[:1] + "\x00" + marker[1:]
        pieces = [p.replace(marker, cut) for p in pieces]
    out: list[int] = []
    for part in pieces[0].split("\x00"):
        if part:
            out.extend(tokenizer.tokenize(part, special=False))
    # Last resort for a tokenizer that still merges across the cut: one char at a time.
    if any(i in protected for i in out):
        out = []
        for char in text:
            out.extend(i for i in tokenizer.tokenize(char, special=False) if i not in protected)
    return out


class TokenBuilder:
    def __init__(
        self,
        tokenizer: Tokenizer,
        protected: Collection[int] = frozenset(),
        protected_texts: Iterable[str] = (),
    ) -> None:
        self._tokenizer = tokenizer
        self._protected = protected
        self._protected_texts = tuple(protected_texts)
        self._ids: list[int] = []
        self._text: list[str] = []

    def text(self, text: str) -> TokenBuilder:
        if text:
            self._text.append(text)
        return self

    def control(self, token_id: int) -> TokenBuilder:
        self._flush()
        self._ids.append(token_id)
        return self

    def extend(self, ids: Iterable[int]) -> TokenBuilder:
        self._flush()
        self._ids.extend(ids)
        return self

    def _flush(self) -> None:
        if self._text:
            joined = "".join(self._text)
            self._text.clear()
            self._ids.extend(
                tokenize_untrusted(self._tokenizer, joined, self._protected, self._protected_texts)
            )

    def ids(self) -> list[int]:
        self._flush()
        return list(self._ids)
