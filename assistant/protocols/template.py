"""The model's own chat template, rendered safely, turned into token ids.

A GGUF's `tokenizer.chat_template` is Jinja written by whoever converted the
model, so it is rendered in a sandbox with limits on time, output size and the
size of any value it builds: a template that raises, loops or explodes becomes
one `TemplateProblem` line instead of a hang or an out-of-memory kill.

Ids come from the rendering with a trust split. Every untrusted text (user
text, file contents, tool output) and every run of the model's own generated
ids goes into the template as a unique placeholder string; the rendering is
cut at the placeholders. What the template wrote itself is trusted: its control
strings (`<|turn>`, `<|im_start|>`…) become control ids. Untrusted text is
tokenized with special=False (through `tokenize_untrusted`), and the model's
own ids are spliced in unchanged. Plain template text and untrusted text that
meet between two control tokens are tokenized together, so with harmless text
the ids equal the tokenization of the whole rendering."""

from __future__ import annotations

import enum
import functools
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.tokens import TokenBuilder, tokenize_untrusted

# Private-use characters: no template writes them, and Jinja's filters (trim,
# upper, split on markers) leave them alone.
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
# Kept stable so a template that prints the date does not change every prompt.
FIXED_DATE = "2026-01-01"


class TemplateProblem(Exception):
    """The chat template cannot be used; `str()` is one line for the user."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 5.0
    max_chars: int = 8_000_000  # of the output and of any one value built


@dataclass(frozen=True)
class Untrusted:
    """Text from outside (user, files, tools): never becomes control ids."""

    text: str
    separate: bool = False  # tokenized on its own, not joined with what is around it


@dataclass(frozen=True)
class OwnIds:
    """Ids the model generated itself: spliced in as they are."""

    ids: tuple[int, ...]
    text: str = ""  # what they read as, for the plain-text rendering


Piece = Untrusted | OwnIds


@dataclass
class Slots:
    """The placeholders handed out for one rendering."""

    pieces: list[Piece] = field(default_factory=list)

    def __call__(self, piece: Piece) -> str:
        self.pieces.append(piece)
        return f"{_OPEN}{len(self.pieces) - 1}{_CLOSE}"


class _LimitedSandbox:
    """Builds the sandboxed environment and enforces the limits while it runs."""

    def __init__(self, limits: Limits) -> None:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.limits = limits
        self.deadline = 0.0
        outer = self

        class Env(ImmutableSandboxedEnvironment):
            intercepted_binops = frozenset({"*", "**", "+"})

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                outer.check()
                if operator == "**" and isinstance(right, int) and right > 64:
                    outer.fail("it raises a number to a huge power")
                if operator == "*":
                    for seq, n in ((left, right), (right, left)):
                        if isinstance(seq, str | list | tuple) and isinstance(n, int):
                            outer.size(len(seq) * n)
                return outer.sized(super().call_binop(context, operator, left, right))

            def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
                outer.check()
                for value in (*args, *kwargs.values()):
                    if isinstance(value, int) and not isinstance(value, bool):
                        outer.size(value)
                return outer.sized(super().call(__context, __obj, *args, **kwargs))

            def getattr(self, obj: Any, attribute: str) -> Any:
                outer.check()
                return outer.sized(super().getattr(obj, attribute))

            def getitem(self, obj: Any, argument: Any) -> Any:
                outer.check()
                return outer.sized(super().getitem(obj, argument))

        def raise_exception(message: str) -> None:
            raise TemplateProblem(f"the template raised: {message}")

        env = Env(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: time.strftime(
            fmt, time.strptime(FIXED_DATE, "%Y-%m-%d")
        )
        for name, fn in list(env.filters.items()):
            env.filters[name] = self._wrap(fn)
        self.env = env
        self.jinja2 = jinja2

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)  # keeps jinja's pass_context/pass_environment marks
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.check()
            return self.sized(fn(*args, **kwargs))

        return wrapped

    def fail(self, why: str) -> None:
        raise TemplateProblem(f"the chat template is unusable: {why}")

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            self.fail(f"rendering took longer than {self.limits.seconds:g} s")

    def size(self, n: int) -> None:
        if n > self.limits.max_chars:
            self.fail(f"it builds a value larger than {self.limits.max_chars} characters")

    def sized(self, value: Any) -> Any:
        if isinstance(value, str | list | tuple | dict):
            self.size(len(value))
        return value


class ChatTemplate:
    """One chat template source, compiled once, rendered many times."""

    def __init__(
        self,
        source: str,
        *,
        bos_token: str = "",
        eos_token: str = "",
        limits: Limits | None = None,
    ) -> None:
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self._sandbox = _LimitedSandbox(limits or Limits())
        try:
            self._compiled = self._sandbox.env.from_string(source)
        except self._sandbox.jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(
                f"the chat template does not parse (line {exc.lineno}): {exc.message}"
            ) from None

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        add_generation_prompt: bool = True,
        enable_thinking: bool = False,
    ) -> str:
        """The template's text for this conversation (placeholders included)."""
        sandbox = self._sandbox
        sandbox.deadline = time.monotonic() + sandbox.limits.seconds
        context = {
            "messages": [dict(m) for m in messages],
            "tools": [dict(t) for t in tools] if tools else None,
            "add_generation_prompt": add_generation_prompt,
            "enable_thinking": enable_thinking,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        }
        out: list[str] = []
        total = 0
        try:
            for chunk in self._compiled.generate(context):
                total += len(chunk)
                sandbox.size(total)
                sandbox.check()
                out.append(chunk)
        except TemplateProblem:
            raise
        except RecursionError:
            raise TemplateProblem("the chat template is unusable: it recurses too deep") from None
        except MemoryError:
            raise TemplateProblem("the chat template is unusable: it ran out of memory") from None
        except Exception as exc:  # a template error of any kind is one line, never a traceback
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TemplateProblem(f"the chat template failed: {message}") from None
        return "".join(out)


def plain_text(rendered: str, pieces: Sequence[Piece]) -> str:
    """The rendering with every placeholder replaced by its text."""

    def text(match: re.Match[str]) -> str:
        piece = pieces[int(match.group(1))]
        return piece.text

    return _PLACEHOLDER.sub(text, rendered)


def control_split(tokenizer: Tokenizer, text: str) -> list[str | int]:
    """Trusted template text as plain-text runs and control ids, in order: the
    control ids are what tokenizing it with special=True gives."""
    out: list[str | int] = []
    pos = 0
    for token in tokenizer.tokenize(text, special=True):
        if not tokenizer.is_control(token):
            continue
        piece = tokenizer.piece(token).decode("utf-8", "replace")
        at = text.find(piece, pos) if piece else -1
        if at < 0:  # a control id whose text we cannot place: trust the tokenizer
            return [text] if not out else [*out, text[pos:]]
        if at > pos:
            out.append(text[pos:at])
        out.append(token)
        pos = at + len(piece)
    if pos < len(text):
        out.append(text[pos:])
    return out


def to_ids(
    tokenizer: Tokenizer,
    rendered: str,
    pieces: Sequence[Piece],
    protected: Collection[int],
    protected_texts: Iterable[str],
) -> list[int]:
    """Ids for a rendering made with placeholders (see the module docstring)."""
    protected_texts = tuple(protected_texts)
    builder = TokenBuilder(tokenizer, protected, protected_texts)
    pos = 0
    for match in _PLACEHOLDER.finditer(rendered):
        _trusted(builder, tokenizer, rendered[pos : match.start()])
        piece = pieces[int(match.group(1))]
        if isinstance(piece, OwnIds):
            builder.extend(piece.ids)
        elif piece.separate:
            builder.extend(tokenize_untrusted(tokenizer, piece.text, protected, protected_texts))
        else:
            builder.text(piece.text)
        pos = match.end()
    _trusted(builder, tokenizer, rendered[pos:])
    return builder.ids()


def _trusted(builder: TokenBuilder, tokenizer: Tokenizer, text: str) -> None:
    if not text:
        return
    if _OPEN in text or _CLOSE in text:
        raise TemplateProblem("the chat template changed a placeholder it was given")
    for part in control_split(tokenizer, text):
        if isinstance(part, int):
            builder.control(part)
        else:
            builder.text(part)


class TemplateKind(enum.Enum):
    JULY = "July 2026 canonical"
    APRIL = "April"
    CUSTOM = "custom"  # set by the user (config or --chat-template)
    OTHER = "other"  # not a Gemma 4 template


def gemma4_kind(source: str | None) -> TemplateKind:
    """Which Gemma 4 template generation this is, by the layout it writes: the
    July 2026 templates put a newline after `<|think|>` and cue an open thought
    after a tool response; the April ones do neither."""
    if not source or "<|tool_response>" not in source or "<|turn>" not in source:
        return TemplateKind.OTHER
    if "'<|think|>\\n'" in source or '"<|think|>\\n"' in source or "<|think|>\n" in source:
        return TemplateKind.JULY
    return TemplateKind.APRIL
