"""A system + user prompt as token ids, in the model's own chat format, with
the fixed part first so it can be cached.

The GGUF's `tokenizer.chat_template` is rendered once with placeholder texts;
what surrounds the placeholders is template text (tokenized with special=True,
so `<|turn>` or `<|im_start|>` become their control ids), and the real texts
are tokenized with special=False (a diff that contains `<turn|>` stays text).
This works for Gemma 4, ChatML and any other template that puts the system
text before the user text, without knowing the format.

The prompt is `prefix + user parts + suffix`; `prefix` (BOS, system turn,
user-turn opener) is identical for every chunk, and each user part is
tokenized on its own, so parts shared by every chunk of a run (the repo map)
are also identical ids, which the engine's KV cache re-uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.llm.tokenizer import Tokenizer

_SYS = "\x02SYSTEM\x02"
_USR = "\x02USER\x02"


@dataclass(frozen=True)
class Prompt:
    ids: list[int]
    boundary: int  # len of the fixed prefix (the cache_boundary)


class TemplateError(Exception):
    pass


def _render_template(template: str, bos: str, eos: str) -> str:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: "2025-01-01"  # keep the prefix stable
    messages = [{"role": "system", "content": _SYS}, {"role": "user", "content": _USR}]
    try:
        return env.from_string(template).render(
            messages=messages,
            add_generation_prompt=True,
            bos_token=bos,
            eos_token=eos,
            tools=None,
            enable_thinking=False,
        )
    except (jinja2.TemplateError, TemplateError) as exc:
        raise TemplateError(str(exc)) from exc


class ChatPrompter:
    def __init__(self, tokenizer: Tokenizer, template: str | None) -> None:
        self.tokenizer = tokenizer
        self._pre, self._mid, self._post = self._split(template)
        self._prefix_cache: tuple[str, list[int]] | None = None

    def _split(self, template: str | None) -> tuple[str, str, str]:
        bos_id = self.tokenizer.bos_id
        bos = self.tokenizer.piece(bos_id).decode("utf-8", "replace") if bos_id is not None else ""
        if template:
            try:
                text = _render_template(template, bos, "")
            except TemplateError:
                text = ""
            i, j = text.find(_SYS), text.find(_USR)
            if 0 <= i < j:
                return text[:i], text[i + len(_SYS) : j], text[j + len(_USR) :]
        # No usable template: a plain layout any instruct model can follow.
        return bos, "\n\n", "\n\nAnswer:\n"

    def _special(self, text: str) -> list[int]:
        return self.tokenizer.tokenize(text, special=True) if text else []

    def prefix(self, system: str) -> list[int]:
        if self._prefix_cache is None or self._prefix_cache[0] != system:
            ids = (
                self._special(self._pre)
                + self.tokenizer.tokenize(system, special=False)
                + self._special(self._mid)
            )
            self._prefix_cache = (system, ids)
        return list(self._prefix_cache[1])

    def render(self, system: str, user_parts: Sequence[str]) -> Prompt:
        prefix = self.prefix(system)
        ids = list(prefix)
        for part in user_parts:
            ids.extend(self.tokenizer.tokenize(part, special=False))
        ids.extend(self._special(self._post))
        return Prompt(ids, len(prefix))
