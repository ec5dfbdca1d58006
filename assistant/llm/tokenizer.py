"""Token-level access to a model's vocabulary.

Everything that turns text into ids goes through `Tokenizer`. Untrusted text
(user messages, file contents, tool output) is always tokenized with
`special=False`, so a literal "<turn|>" in a file stays plain text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.errors import ModelLoadError


class Tokenizer(Protocol):
    @property
    def bos_id(self) -> int | None: ...

    @property
    def eos_ids(self) -> frozenset[int]:
        """End-of-generation ids as the model's vocabulary declares them."""
        ...

    @property
    def n_vocab(self) -> int: ...

    @property
    def protected_ids(self) -> frozenset[int]:
        """Ids that untrusted text can never produce (control and user-defined
        tokens): the protocols split them out of anything tokenized from text."""
        ...

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Ids for `text`, never with a BOS added. `special=True` only for trusted
        template text, where control-token strings must become control ids."""
        ...

    def piece(self, token_id: int) -> bytes:
        """The bytes a token stands for, control tokens rendered as their text."""
        ...

    def is_control(self, token_id: int) -> bool: ...

    def detokenize(self, ids: Sequence[int]) -> str: ...

    def token_id(self, text: str) -> int | None:
        """The single id whose text is exactly `text`, or None."""
        ...


def require_token(tokenizer: Tokenizer, text: str) -> int:
    """Look up a control token by its text; a GGUF without it is unusable."""
    token = tokenizer.token_id(text)
    if token is None:
        raise ModelLoadError(
            f"the model's vocabulary has no {text!r} token; is this the right model file?"
        )
    return token
