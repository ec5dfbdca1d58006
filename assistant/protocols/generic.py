"""The fallback protocol for GGUFs without the Gemma 4 template (ChatML, SmolLM2…).

Turns come from the model's own chat template, rendered once with jinja2 around
sentinel strings to learn each role's wrapper text; template text is trusted
(special=True), message text never is (special=False). Tools are described in
the system message, and calls are JSON in a tagged block:

    <tool_call>
    {"name": "read_file", "arguments": {"path": "a.py"}}
    </tool_call>
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from assistant.events import Done, Event, StopReason, TextDelta, ThoughtDelta, ToolCallError
from assistant.llm.engine import GeneratedToken, GrammarSpec
from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.base import (
    GrammarOptions,
    Message,
    ParsedTurn,
    Role,
    ToolChoice,
    ToolChoiceMode,
    ToolResult,
    tools_by_name,
)
from assistant.protocols.gemma4_parser import check_call, collect
from assistant.protocols.grammar import (
    GrammarBuilder,
    _trie_expr,
    gbnf_literal,
    repeat,
    tools_for_choice,
)
from assistant.protocols.tokens import tokenize_untrusted
from assistant.toolspec import ToolSpec

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_TAGS = (CALL_OPEN, CALL_CLOSE, THINK_OPEN, THINK_CLOSE)

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_S = "\x1e{}\x1e"  # sentinel: never in a template, survives rendering unchanged


def tools_system_text(tools: Sequence[ToolSpec]) -> str:
    lines = "\n".join(
        json.dumps(
            {"name": t.name, "description": t.description, "parameters": t.parameters},
            sort_keys=True,
        )
        for t in tools
    )
    return (
        "# Tools\n\nYou may call one or more functions. Their signatures, one per line:\n"
        f"<tools>\n{lines}\n</tools>\n\n"
        "To call a function, answer with a JSON object in tool_call tags:\n"
        f'{CALL_OPEN}\n{{"name": <function-name>, "arguments": <arguments-object>}}\n{CALL_CLOSE}'
    )


def _render_template(template: str, **context: Any) -> str:
    def raise_exception(message: str) -> None:
        raise jinja2.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template).render(**context)


@dataclass(frozen=True)
class _Wrap:
    before: str
    after: str


class GenericProtocol:
    name = "generic"

    def __init__(
        self,
        tokenizer: Tokenizer,
        chat_template: str | None,
        bos_token: str = "",
        eos_token: str = "",
        add_bos: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        # BOS only where the GGUF asks for it and the template does not write it.
        self._add_bos = add_bos and not (bos_token and bos_token in (chat_template or ""))
        self.template = chat_template or CHATML_TEMPLATE
        self._ctx = {"bos_token": bos_token, "eos_token": eos_token}
        self._protected = tokenizer.protected_ids
        try:
            self._learn_wrappers()
        except (jinja2.TemplateError, ValueError):
            # A template we can't take apart: fall back to ChatML, the common case.
            self.template = CHATML_TEMPLATE
            self._learn_wrappers()
        ids = [tokenizer.token_id(t) for t in (CALL_OPEN,)]
        self.call_open_id: int | None = ids[0]
        self._stop_ids = frozenset(
            i
            for i in (tokenizer.token_id("<|im_end|>"), tokenizer.token_id("<|eot_id|>"))
            if i is not None
        )

    # -- learning the template ---------------------------------------------------

    def _render(self, messages: list[dict[str, Any]], gen: bool, think: bool = False) -> str:
        return _render_template(
            self.template,
            messages=messages,
            add_generation_prompt=gen,
            enable_thinking=think,
            **self._ctx,
        )

    def _delta(self, shorter: str, longer: str) -> str:
        if not longer.startswith(shorter):
            raise ValueError("the chat template does not render history as a prefix")
        return longer[len(shorter) :]

    def _split(self, text: str, sentinel: str) -> _Wrap:
        if text.count(sentinel) != 1:
            raise ValueError("the chat template changes message text")
        before, after = text.split(sentinel)
        return _Wrap(before, after)

    def _learn_wrappers(self) -> None:
        sys_s, user_s, asst_s, tool_s = (_S.format(n) for n in ("S", "U", "A", "T"))
        system = {"role": "system", "content": sys_s}
        user = {"role": "user", "content": user_s}
        asst = {"role": "assistant", "content": asst_s}
        r_sys = self._render([system], gen=False)
        self.bos_wrap = self._split(r_sys, sys_s)
        r_user = self._render([system, user], gen=False)
        self.user_wrap = self._split(self._delta(r_sys, r_user), user_s)
        r_gen = self._render([system, user], gen=True)
        self.gen_prompt = self._delta(r_user, r_gen)
        r_asst = self._render([system, user, asst], gen=False)
        asst_wrap = self._split(self._delta(r_user, r_asst), asst_s)
        self.asst_close = asst_wrap.after
        try:
            tool = {"role": "tool", "content": tool_s}
            r_tool = self._render([system, user, asst, tool], gen=False)
            self.tool_wrap = self._split(self._delta(r_asst, r_tool), tool_s)
        except (jinja2.TemplateError, ValueError):
            self.tool_wrap = self.user_wrap  # no tool role: results go in as user text

    # -- ids ---------------------------------------------------------------------

    def _trusted(self, text: str) -> list[int]:
        return self.tokenizer.tokenize(text, special=True) if text else []

    def _untrusted(self, text: str) -> list[int]:
        return tokenize_untrusted(self.tokenizer, text, self._protected, ())

    @property
    def stop_ids(self) -> frozenset[int]:
        return self._stop_ids

    def _system_text(self, system: str, tools: Sequence[ToolSpec]) -> str:
        parts = [system.strip()] if system.strip() else []
        if tools:
            parts.append(tools_system_text(tools))
        return "\n\n".join(parts)

    def prefix(self, system: str, tools: Sequence[ToolSpec], think: bool) -> list[int]:
        bos = self.tokenizer.bos_id
        ids = [bos] if self._add_bos and bos is not None else []
        return (
            ids
            + self._trusted(self.bos_wrap.before)
            + self._untrusted(self._system_text(system, tools))
            + self._trusted(self.bos_wrap.after)
        )

    def user_turn(self, text: str, think: bool) -> list[int]:
        return (
            self._trusted(self.user_wrap.before)
            + self._untrusted(text)
            + self._trusted(self.user_wrap.after + self.gen_prompt)
        )

    def _result_text(self, result: ToolResult) -> str:
        body = result.content if isinstance(result.content, str) else json.dumps(result.content)
        key = "error" if result.is_error else "content"
        return json.dumps({"name": result.name, key: body}, ensure_ascii=False)

    def tool_results(
        self, results: Sequence[ToolResult], *, last_token: int | None, think: bool
    ) -> list[int]:
        ids = self.close_model_turn(last_token=last_token)
        text = "\n".join(
            f"<tool_response>\n{self._result_text(r)}\n</tool_response>" for r in results
        )
        return (
            ids
            + self._trusted(self.tool_wrap.before)
            + self._untrusted(text)
            + self._trusted(self.tool_wrap.after + self.gen_prompt)
        )

    def close_model_turn(self, *, last_token: int | None) -> list[int]:
        close = self.asst_close
        if last_token is not None:
            piece = self.tokenizer.piece(last_token).decode("utf-8", "replace")
            if piece and close.startswith(piece):
                close = close[len(piece) :]
        return self._trusted(close)

    def new_parser(self, tools: Sequence[ToolSpec] = ()) -> GenericStreamParser:
        return GenericStreamParser(
            tools, self.tokenizer.eos_ids | self._stop_ids, self.tokenizer.is_control
        )

    def grammar(
        self,
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice | str = "auto",
        *,
        think: bool = False,
        existing_paths: Collection[str] | None = None,
        options: GrammarOptions | None = None,
    ) -> GrammarSpec | None:
        return json_call_grammar(
            tools, tool_choice, self.call_open_id, existing_paths=existing_paths, options=options
        )

    def render_messages(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        think: bool = False,
        add_generation_prompt: bool = True,
    ) -> list[int]:
        rest = list(messages)
        system = rest.pop(0).content if rest and rest[0].role is Role.SYSTEM else ""
        ids = self.prefix(system, tools, think)
        for message in rest:
            if message.role is Role.USER:
                ids += self._trusted(self.user_wrap.before) + self._untrusted(message.content)
                ids += self._trusted(self.user_wrap.after)
                continue
            ids += self._trusted(self.gen_prompt)
            calls = "".join(
                f"{CALL_OPEN}\n"
                + json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
                + f"\n{CALL_CLOSE}"
                for c in message.tool_calls
            )
            ids += self._untrusted(calls + message.content.strip())
            if message.tool_results:
                ids += self._trusted(self.asst_close + self.tool_wrap.before)
                ids += self._untrusted(
                    "\n".join(
                        f"<tool_response>\n{self._result_text(r)}\n</tool_response>"
                        for r in message.tool_results
                    )
                )
                ids += self._trusted(self.tool_wrap.after)
            else:
                ids += self._trusted(self.asst_close)
        if add_generation_prompt:
            ids += self._trusted(self.gen_prompt)
        return ids


# -- parsing -------------------------------------------------------------------


def _held_back(text: str) -> int:
    """How many trailing chars might start a tag split across tokens."""
    for n in range(min(len(text), max(len(t) for t in _TAGS) - 1), 0, -1):
        tail = text[-n:]
        if any(tag.startswith(tail) for tag in _TAGS):
            return n
    return 0


class GenericStreamParser:
    """Tags are plain text here, so the parser scans decoded text, holding back
    a possible partial tag at the end of each chunk."""

    def __init__(
        self,
        tools: Sequence[ToolSpec] | None,
        end_ids: Collection[int] = (),
        is_control: Callable[[int], bool] | None = None,
    ) -> None:
        self._tools = tools_by_name(tools) if tools is not None else None
        self._end_ids = frozenset(end_ids)
        self._is_control = is_control
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._mode = "text"  # text | think | call
        self._call = ""
        self._calls = 0
        self._ended = False
        self._finished = False

    def feed(self, token: GeneratedToken) -> list[Event]:
        try:
            if self._ended:
                return []
            if token.id in self._end_ids:
                self._ended = True
                return []
            if self._is_control is not None and self._is_control(token.id):
                return []
            return self.feed_text(self._decoder.decode(token.piece))
        except Exception as exc:
            return [ToolCallError(f"internal parser error: {exc!r}", "")]

    def feed_text(self, text: str) -> list[Event]:
        self._buf += text
        events: list[Event] = []
        while True:
            tags = {
                "text": (THINK_OPEN, CALL_OPEN),
                "think": (THINK_CLOSE, CALL_OPEN),
                "call": (CALL_CLOSE,),
            }[self._mode]
            hits = [(self._buf.find(t), t) for t in tags if t in self._buf]
            if not hits:
                keep = _held_back(self._buf)
                emit = self._buf[: len(self._buf) - keep]
                self._buf = self._buf[len(self._buf) - keep :]
                events += self._emit(emit)
                return events
            pos, tag = min(hits)
            events += self._emit(self._buf[:pos])
            self._buf = self._buf[pos + len(tag) :]
            if tag == CALL_OPEN:
                self._mode, self._call = "call", ""
            elif tag == CALL_CLOSE:
                events.append(self._parse_call(self._call))
                self._mode = "text"
            elif tag == THINK_OPEN:
                self._mode = "think"
            else:
                self._mode = "text"

    def _emit(self, text: str) -> list[Event]:
        if not text:
            return []
        if self._mode == "call":
            self._call += text
            return []
        return [ThoughtDelta(text) if self._mode == "think" else TextDelta(text)]

    def _parse_call(self, body: str) -> Event:
        self._calls += 1
        raw = f"{CALL_OPEN}{body}{CALL_CLOSE}"
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            return ToolCallError(f"malformed tool call: invalid JSON ({exc.msg})", raw)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return ToolCallError('malformed tool call: expected {"name": …, "arguments": {…}}', raw)
        args = data.get("arguments", data.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                return ToolCallError("malformed tool call: arguments are not JSON", raw)
        if not isinstance(args, dict):
            return ToolCallError("malformed tool call: arguments must be an object", raw)
        return check_call(data["name"], args, self._tools, raw)

    def finish(self, reason: StopReason | None = None) -> list[Event]:
        if self._finished:
            return []
        self._finished = True
        events: list[Event] = []
        try:
            tail = self._decoder.decode(b"", final=True) + self._buf
            self._buf = ""
            if self._mode == "call":
                self._calls += 1
                why = (
                    "cut off by the token limit"
                    if reason is StopReason.MAX_TOKENS
                    else (f"not closed with {CALL_CLOSE} before generation stopped")
                )
                events.append(ToolCallError(f"tool call {why}", CALL_OPEN + self._call + tail))
            else:
                events += self._emit(tail)
        except Exception as exc:
            events.append(ToolCallError(f"internal parser error: {exc!r}", ""))
        final: StopReason | None
        if reason in (StopReason.CANCELLED, StopReason.ERROR):
            final = reason
        elif self._calls:
            final = StopReason.TOOL_CALL
        elif self._ended:
            final = StopReason.END_OF_TURN
        else:
            final = reason or StopReason.MAX_TOKENS
        assert final is not None
        events.append(Done(final))
        return events


def parse(text: str, tools: Sequence[ToolSpec] | None = None) -> ParsedTurn:
    """Parse one whole model turn in the generic (tagged JSON) format."""
    parser = GenericStreamParser(tools)
    return collect(parser.feed_text(text) + parser.finish(StopReason.END_OF_TURN))


# -- grammar -------------------------------------------------------------------


class JsonSyntax:
    def string(
        self, max_tokens: int | None, min_chars: int = 0, max_chars: int | None = None
    ) -> str:
        # A json-char is one character of the decoded string (an escape too).
        bounds = [b for b in (max_tokens, max_chars) if b is not None]
        high = min(bounds) if bounds else None
        return f'"\\"" {repeat("json-char", min_chars, high)} "\\""'

    def string_of(self, literals: Sequence[str]) -> str:
        return _trie_expr([json.dumps(s, ensure_ascii=False) for s in literals])

    def key(self, name: str) -> str:
        return gbnf_literal(json.dumps(name, ensure_ascii=False) + ":")

    def generic_value(self) -> str:
        return "json-value"

    def rules(self) -> dict[str, str]:
        return {
            "json-char": '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
            "json-value": "json-string | json-object | json-array | json-number | json-literal",
            "json-string": '"\\"" json-char* "\\""',
            "json-number": '"-"? [0-9]+ ("." [0-9]+)? ([eE] [-+]? [0-9]+)?',
            "json-literal": '"true" | "false" | "null"',
            "json-object": '"{" (json-string ":" json-value ("," json-string ":" json-value)*)? "}"',
            "json-array": '"[" (json-value ("," json-value)*)? "]"',
        }


def json_call_grammar(
    tools: Sequence[ToolSpec],
    tool_choice: ToolChoice | str,
    call_open_id: int | None,
    *,
    existing_paths: Collection[str] | None = None,
    options: GrammarOptions | None = None,
) -> GrammarSpec | None:
    """Tagged-JSON calls. Lazy from the `<tool_call>` token where the vocabulary
    has one; otherwise from the moment the output ends with the text
    `<tool_call>`. `required`/named calls are constrained from the first token."""
    resolved = tools_for_choice(tools, tool_choice)
    if resolved is None:
        return None
    choice, tools = resolved
    options = options or GrammarOptions()
    builder = GrammarBuilder(JsonSyntax(), options, existing_paths)
    alts = []
    for tool in tools:
        args = builder.arguments(tool)
        head = gbnf_literal('{"name":' + json.dumps(tool.name) + ',"arguments":')
        alts.append(builder.add(f"call-{tool.name}", f'{head} {args} "}}"'))
    opener = f"<[{call_open_id}]>" if call_open_id is not None else gbnf_literal(CALL_OPEN)
    builder.add("body", f'"\\n" ({" | ".join(alts)}) "\\n" {gbnf_literal(CALL_CLOSE)}')
    builder.add("call", f"{opener} body")
    more = ' ("\\n" call)*' if options.parallel_calls else ""
    calls = f"call{more}"
    if choice.mode is ToolChoiceMode.AUTO:
        if call_open_id is not None:
            return GrammarSpec(gbnf=builder.render(calls), trigger_ids=frozenset({call_open_id}))
        # The opener is several tokens here: the engine starts the grammar (which
        # then describes what follows the opener) once the output ends with it.
        return GrammarSpec(gbnf=builder.render(f"body{more}"), trigger_texts=(CALL_OPEN,))
    return GrammarSpec(gbnf=builder.render(calls))
