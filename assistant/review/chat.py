"""A system + user prompt as token ids through the model's chat protocol (the
one path every prompt takes, see `assistant.protocols.template`), with the
fixed part first so it can be cached.

The prompt is `prefix + user parts + suffix`; `prefix` (BOS, system turn,
user-turn opener) is identical for every chunk, and each user part is
tokenized on its own, so parts shared by every chunk of a run (the repo map)
are also identical ids, which the engine's KV cache re-uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.protocols.base import ChatProtocol, Message, Role

_PROBES = ("A", "Zq")


@dataclass(frozen=True)
class Prompt:
    ids: list[int]
    boundary: int  # len of the fixed prefix (the cache_boundary)


class ChatPrompter:
    def __init__(self, protocol: ChatProtocol) -> None:
        self.protocol = protocol
        self._prefix_cache: tuple[str, list[int]] | None = None

    def _ids(self, system: str, parts: Sequence[str]) -> list[int]:
        messages = [Message(Role.SYSTEM, system)] if system.strip() else []
        user = Message(Role.USER, "".join(parts), parts=tuple(parts))
        return self.protocol.render_messages([*messages, user], [], False)

    def prefix(self, system: str) -> list[int]:
        """What every prompt with this system text starts with."""
        if self._prefix_cache is None or self._prefix_cache[0] != system:
            a, b = (self._ids(system, [p]) for p in _PROBES)
            n = 0
            while n < min(len(a), len(b)) and a[n] == b[n]:
                n += 1
            self._prefix_cache = (system, a[:n])
        return list(self._prefix_cache[1])

    def render(self, system: str, user_parts: Sequence[str]) -> Prompt:
        prefix = self.prefix(system)
        ids = self._ids(system, [p for p in user_parts if p])
        n = 0
        while n < min(len(prefix), len(ids)) and prefix[n] == ids[n]:
            n += 1
        return Prompt(ids, n)
