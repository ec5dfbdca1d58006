"""The fallback protocol for GGUFs without the Gemma 4 template (ChatML, SmolLM2…).

Turns come from the model's own chat template, rendered by `template.py` like
Gemma 4's: template text is trusted (special=True), message text never is
(special=False), and the model's own output goes back as the ids it generated.
Tools are described in the system message, and calls are JSON in a tagged block:

    <tool_call>
    {"name": "read_file", "arguments": {"path": "a.py"}}
    </tool_call>

Tool results go back as `tool` messages where the template knows that role, as
user messages where it does not; a template that refuses a system message gets
the system text at the top of the first user message.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from assistant.events import (
    Done,
    Event,
    Notice,
    StopReason,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    ToolCallError,
)
from assistant.llm.engine import GeneratedToken, GrammarSpec
from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.base import (
    GrammarOptions,
    Message,
    ModelOutput,
    ParsedTurn,
    Role,
    TemplateInfo,
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
from assistant.protocols.template import (
    ChatTemplate,
    Limits,
    OwnIds,
    Slots,
    TemplateKind,
    TemplateProblem,
    Untrusted,
    plain_text,
    to_ids,
)
from assistant.toolspec import ToolSpec

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
# Tool results go back to the model in these; the model never writes one.
RESPONSE_OPEN, RESPONSE_CLOSE = "<tool_response>", "</tool_response>"
_TAGS = (CALL_OPEN, CALL_CLOSE, THINK_OPEN, THINK_CLOSE, RESPONSE_OPEN, RESPONSE_CLOSE)
# What the user is told when the model writes a tool result itself.
IMITATED_RESPONSE = (
    f"the model wrote a tool result itself ({RESPONSE_OPEN}…) instead of waiting for one; "
    "that text and what followed it were dropped"
)

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_PROBE = "\x1eprobe\x1e"


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


class GenericProtocol:
    name = "generic"

    def __init__(
        self,
        tokenizer: Tokenizer,
        chat_template: str | None,
        bos_token: str = "",
        eos_token: str = "",
        add_bos: bool = False,
        *,
        source: str = "gguf",
        limits: Limits | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        builtin = not chat_template
        source = "builtin ChatML (the GGUF has no chat template)" if builtin else source
        self.template = ChatTemplate(
            chat_template or CHATML_TEMPLATE,
            bos_token=bos_token,
            eos_token=eos_token,
            limits=limits,
        )
        # BOS only where the GGUF asks for it and the template does not write it.
        self._add_bos = add_bos and not (bos_token and bos_token in (chat_template or ""))
        self._protected = tokenizer.protected_ids
        self._system_in_user = False
        self._tool_role = "tool"
        self._check_template()
        self.call_open_id: int | None = tokenizer.token_id(CALL_OPEN)
        self._stop_ids = frozenset(
            i
            for i in (tokenizer.token_id("<|im_end|>"), tokenizer.token_id("<|eot_id|>"))
            if i is not None
        )
        kind = TemplateKind.CUSTOM if source != "gguf" and not builtin else TemplateKind.OTHER
        self._info = TemplateInfo(kind.value, "thinking: passed to the template", source)

    def _check_template(self) -> None:
        """Probe what the template accepts: a system message, a tool role. A
        template that fails even a plain user turn is unusable (raises)."""
        user = {"role": "user", "content": _PROBE}
        try:
            self.template.render([{"role": "system", "content": _PROBE}, user])
        except TemplateProblem:
            self.template.render([user])  # raises the clear problem if even this fails
            self._system_in_user = True
        asst = {"role": "assistant", "content": "a"}
        try:
            text = self.template.render([user, asst, {"role": "tool", "content": _PROBE}])
            if text.count(_PROBE) != 2:
                self._tool_role = "user"
        except TemplateProblem:
            self._tool_role = "user"

    @property
    def template_info(self) -> TemplateInfo:
        return self._info

    @property
    def stop_ids(self) -> frozenset[int]:
        return self._stop_ids

    def _system_text(self, system: str, tools: Sequence[ToolSpec]) -> str:
        parts = [system.strip()] if system.strip() else []
        if tools:
            parts.append(tools_system_text(tools))
        return "\n\n".join(parts)

    def _result_text(self, result: ToolResult) -> str:
        body = result.content if isinstance(result.content, str) else json.dumps(result.content)
        key = "error" if result.is_error else "content"
        return json.dumps({"name": result.name, key: body}, ensure_ascii=False)

    def read_output(self, ids: Sequence[int]) -> ModelOutput:
        ends = self.tokenizer.eos_ids | self._stop_ids
        kept = [i for i in ids if i not in ends]
        text = self.tokenizer.detokenize(kept)
        # No tool list: the history shows every call as written, known or not.
        parser = GenericStreamParser(None, ends, self.tokenizer.is_control)
        events = parser.feed_text(text) + parser.finish()
        calls = tuple(e for e in events if isinstance(e, ToolCall | ToolCallError))
        if text != text.strip():
            return ModelOutput(text.strip(), None, calls=calls)
        return ModelOutput(text, tuple(kept), calls=calls)

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

    # -- rendering ---------------------------------------------------------------

    def _jinja_messages(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], slots: Slots
    ) -> list[dict[str, Any]]:
        rest = list(messages)
        system = rest.pop(0).content if rest and rest[0].role is Role.SYSTEM else ""
        system = self._system_text(system, tools)
        out: list[dict[str, Any]] = []
        if system and not self._system_in_user:
            out.append({"role": "system", "content": slots(Untrusted(system))})
        for message in rest:
            if message.role is Role.ASSISTANT:
                out.append({"role": "assistant", "content": self._assistant(message, slots)})
                if message.tool_results:
                    text = "\n".join(
                        f"<tool_response>\n{self._result_text(r)}\n</tool_response>"
                        for r in message.tool_results
                    )
                    out.append({"role": self._tool_role, "content": slots(Untrusted(text))})
                continue
            if message.parts:
                content = "".join(slots(Untrusted(p, separate=True)) for p in message.parts if p)
            else:
                content = slots(Untrusted(message.content.strip()))
            if system and self._system_in_user:
                content = slots(Untrusted(system + "\n\n")) + content
                system = ""
            out.append({"role": message.role.value, "content": content})
        return out

    @staticmethod
    def _assistant(message: Message, slots: Slots) -> str:
        if message.content_ids is not None:
            return slots(OwnIds(message.content_ids, message.content))
        calls = "".join(
            f"{CALL_OPEN}\n"
            + json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
            + f"\n{CALL_CLOSE}"
            for c in message.tool_calls
        )
        return slots(Untrusted(message.content.strip() + calls))

    def _render(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        think: bool,
        add_generation_prompt: bool,
    ) -> tuple[str, Slots]:
        slots = Slots()
        rendered = self.template.render(
            self._jinja_messages(messages, tools, slots),
            add_generation_prompt=add_generation_prompt,
            enable_thinking=think,
        )
        return rendered, slots

    def render_messages(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        think: bool = False,
        add_generation_prompt: bool = True,
    ) -> list[int]:
        rendered, slots = self._render(messages, tools, think, add_generation_prompt)
        ids = to_ids(self.tokenizer, rendered, slots.pieces, self._protected, ())
        bos = self.tokenizer.bos_id
        return [bos, *ids] if self._add_bos and bos is not None else ids

    def render_text(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        think: bool = False,
        add_generation_prompt: bool = True,
    ) -> str:
        rendered, slots = self._render(messages, tools, think, add_generation_prompt)
        return plain_text(rendered, slots.pieces)


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
    a possible partial tag at the end of each chunk.

    Text that imitates the protocol is neither a call nor the answer, as on the
    Gemma 4 path (gemma4_parser.py): a `<tool_response>` the model writes
    itself ends its turn there, as Gemma 4's `<|tool_response>` does (what
    follows is an invented result and whatever the model made of it), and the
    user gets a `Notice` instead of that text; a stray `</tool_call>` or
    `</tool_response>` is dropped, like a stray Gemma 4 marker."""

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
        self._mode = "text"  # text | think | call | ended (after an imitated result)
        self._call = ""
        self._calls = 0
        self._ended = False
        self._imitated = False
        self._finished = False

    @property
    def stop_requested(self) -> bool:
        return self._imitated

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
        if self._mode == "ended":
            return []
        self._buf += text
        events: list[Event] = []
        while True:
            tags = {
                "text": (THINK_OPEN, CALL_OPEN, RESPONSE_OPEN, CALL_CLOSE, RESPONSE_CLOSE),
                "think": (THINK_CLOSE, CALL_OPEN, RESPONSE_OPEN),
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
            elif tag == CALL_CLOSE and self._mode == "call":
                events.append(self._parse_call(self._call))
                self._mode = "text"
            elif tag == THINK_OPEN:
                self._mode = "think"
            elif tag == RESPONSE_OPEN:
                self._mode, self._buf, self._ended = "ended", "", True
                self._imitated = True
                events.append(Notice(IMITATED_RESPONSE, warning=True))
                return events
            elif tag == THINK_CLOSE:
                self._mode = "text"
            # else: a stray closing tag in the text, dropped

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
            if self._mode == "ended":
                pass
            elif self._mode == "call":
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
