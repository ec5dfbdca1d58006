"""The conversation as the token ids fed to the model, its context budget,
compaction, and saving/resuming.

The history is kept as segments (system prefix, user turns, model output, tool
results, turn closings); the ids sent to the model are always the protocol's
rendering of them through the model's own chat template (`render_messages`),
with the model's output spliced in as the ids it generated. Most changes only
append, so the prompt extends the cached ids; where the template lays history
out differently from what was generated (it drops old thoughts at a new user
turn, writes its own cue after tool results) the prompt differs from that token
on and the engine re-evaluates only from there. The same re-rendering serves
shortening old tool outputs and compacting old turns (both only when the
context would overflow) and resuming a saved session with a fresh system prompt
and repository context."""

from __future__ import annotations

import enum
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.events import ToolCall, ToolCallError
from assistant.fsutil import atomic_write
from assistant.llm.engine import common_prefix_length
from assistant.llm.tokenizer import Tokenizer
from assistant.protocols.base import ChatProtocol, Message, ModelOutput, Role, ToolResult
from assistant.toolspec import ToolSpec

SESSION_FILE = "chat.json"
FORMAT_VERSION = 1
SHORT_TOOL_OUTPUT = 300  # characters kept of an old tool output when space runs short
MIN_USER_SHARE = 0.5  # a user message may take at most this share of the context
MAX_RESULT_SHARE = 0.25  # and one tool result this share
# Question-like probes: the first user turn is tokenized with them in place of
# the question to find where the shared repository context stops.
_PROBES = ("Zq", "#\n")


class Kind(enum.Enum):
    PREFIX = "prefix"
    USER = "user"
    MODEL = "model"
    TOOLS = "tools"
    CLOSE = "close"


@dataclass
class Segment:
    kind: Kind
    ids: list[int]  # MODEL: the generated ids; others: empty (rendered on demand)
    turn: int = 0
    text: str = ""  # USER: what the user wrote; MODEL: readable text of the output
    preamble: str = ""  # USER: what precedes the text (repo context, a summary)
    results: list[ToolResult] = field(default_factory=list)  # TOOLS
    last_token: int | None = None  # TOOLS/CLOSE: the last generated id before them
    shortened: bool = False  # TOOLS: outputs already cut to save context


class ContextFull(Exception):
    """Even after shortening and compacting, the current turn does not fit."""


def clip_text(tokenizer: Tokenizer, text: str, max_tokens: int) -> tuple[str, int]:
    """`text` cut to about `max_tokens` tokens (a note says so) and how many
    tokens were cut. A cheap character cut first keeps a huge paste from
    costing a long tokenization."""
    rough = text[: max_tokens * 8]
    ids = tokenizer.tokenize(rough, special=False)
    if len(ids) <= max_tokens and len(rough) == len(text):
        return text, 0
    kept = tokenizer.detokenize(ids[:max_tokens])
    cut = max(len(ids) - max_tokens, 0) + max(0, (len(text) - len(rough)) // 4)
    return kept + f"\n[… input cut here: about {cut} more tokens did not fit the context]", cut


class Session:
    """One conversation with one model: its ids, its budget, its file."""

    def __init__(
        self,
        protocol: ChatProtocol,
        tokenizer: Tokenizer,
        n_ctx: int,
        *,
        system: str,
        tools: Sequence[ToolSpec],
        think: bool = False,
        repo_context: str = "",
        model_name: str = "",
    ) -> None:
        self.protocol = protocol
        self.tokenizer = tokenizer
        self.n_ctx = n_ctx
        self.system = system
        self.tools = list(tools)
        self.think = think
        self.repo_context = repo_context
        self.model_name = model_name
        self.summary = ""  # of turns compacted away
        self.turns = 0
        self.compactions = 0
        self.segments: list[Segment] = [Segment(Kind.PREFIX, [])]
        self.ids: list[int] = []
        self._prefix_len = 0
        self._reads: dict[tuple[int, ...], ModelOutput] = {}  # read_output, per generation
        # End of the part of the first user turn shared by every command in this
        # repository state (the repo context): the disk cache saves state there.
        self.context_boundary: int | None = None
        self._refresh()

    # ------------------------------------------------------------ shape

    @property
    def prefix_len(self) -> int:
        return self._prefix_len

    @property
    def cache_boundary(self) -> int:
        return self.context_boundary or self.prefix_len

    @property
    def turn_open(self) -> bool:
        """A user turn was added and its model turn not closed yet."""
        return self.segments[-1].kind in (Kind.USER, Kind.MODEL, Kind.TOOLS)

    @property
    def free(self) -> int:
        return self.n_ctx - len(self.ids)

    def _preamble(self) -> str:
        """What the first user turn after the prefix starts with."""
        parts = [self.repo_context]
        if self.summary:
            parts.append(f"Summary of the earlier conversation:\n{self.summary}")
        return "\n\n".join(p for p in parts if p)

    @staticmethod
    def _user_parts(preamble: str, text: str) -> tuple[str, ...]:
        # The preamble is tokenized on its own, so its ids do not depend on the question.
        return (f"{preamble}\n\nUser request:\n", text.strip()) if preamble else (text.strip(),)

    def max_user_tokens(self) -> int:
        return int(self.n_ctx * MIN_USER_SHARE)

    # ------------------------------------------------------------ rendering

    def messages(self, segments: Sequence[Segment] | None = None) -> list[Message]:
        """The conversation as protocol messages (model output as its own ids)."""
        out: list[Message] = []
        if self.system.strip():
            out.append(Message(Role.SYSTEM, self.system))
        for segment in self.segments[1:] if segments is None else segments:
            if segment.kind is Kind.USER:
                parts = self._user_parts(segment.preamble, segment.text)
                out.append(Message(Role.USER, "".join(parts), parts=parts))
            elif segment.kind is Kind.MODEL:
                key = tuple(segment.ids)
                read = self._reads.get(key) or self.protocol.read_output(segment.ids)
                self._reads[key] = read
                out.append(
                    Message(
                        Role.ASSISTANT,
                        read.content,
                        tool_calls=tuple(_as_call(c) for c in read.calls),
                        reasoning=read.reasoning,
                        content_ids=read.content_ids,
                        reasoning_ids=read.reasoning_ids,
                    )
                )
            elif segment.kind is Kind.TOOLS and out and out[-1].role is Role.ASSISTANT:
                last = out[-1]
                results = (*last.tool_results, *segment.results)
                calls = last.tool_calls
                if len(calls) < len(results):  # results without a parsed call: name them
                    calls += tuple(ToolCall(r.name, {}) for r in results[len(calls) :])
                out[-1] = replace(last, tool_calls=calls, tool_results=results)
        return out

    def _render(self, messages: Sequence[Message], generation_prompt: bool) -> list[int]:
        return self.protocol.render_messages(messages, self.tools, self.think, generation_prompt)

    def _refresh(self) -> None:
        """Re-render the whole conversation (and where its shared parts end)."""
        last = self.segments[-1].kind
        generation_prompt = last in (Kind.USER, Kind.TOOLS)
        messages = self.messages()
        self.ids = self._render(messages, generation_prompt)
        system_only = [m for m in messages[:1] if m.role is Role.SYSTEM]
        self._prefix_len = common_prefix_length(self._render(system_only, False), self.ids)
        self.context_boundary = None
        first = next((s for s in self.segments if s.kind is Kind.USER), None)
        if first is not None and first.preamble:
            n = len(self.ids)
            head = messages[: len(system_only)]
            for probe in _PROBES:
                parts = self._user_parts(first.preamble, probe)
                other = self._render([*head, Message(Role.USER, "".join(parts), parts=parts)], True)
                n = min(n, common_prefix_length(other, self.ids))
            self.context_boundary = n

    # ------------------------------------------------------------ appending

    def _append(self, segment: Segment) -> None:
        self.segments.append(segment)
        self._refresh()

    def add_user(self, text: str) -> int:
        """Append a user turn (with the repo context when it is the first one);
        returns how many tokens of the text were cut to fit."""
        text, cut = clip_text(self.tokenizer, text, self.max_user_tokens())
        self.turns += 1
        first = not any(s.kind is Kind.USER for s in self.segments)
        preamble = self._preamble() if first else ""
        self._append(Segment(Kind.USER, [], self.turns, text=text, preamble=preamble))
        return cut

    def add_model(self, ids: Sequence[int], text: str) -> None:
        self._append(Segment(Kind.MODEL, list(ids), self.turns, text=text))

    def add_tool_results(self, results: Sequence[ToolResult], last_token: int | None) -> None:
        # One huge output must not crowd out the conversation: cap each result.
        limit = max(256, int(self.n_ctx * MAX_RESULT_SHARE))
        results = [self._clip_result(r, limit) for r in results]
        self._append(
            Segment(Kind.TOOLS, [], self.turns, results=list(results), last_token=last_token)
        )

    def _clip_result(self, result: ToolResult, limit: int) -> ToolResult:
        text = _content_text(result)
        if len(text) < limit * 2:  # surely under `limit` tokens: skip tokenizing
            return result
        clipped, cut = clip_text(self.tokenizer, text, limit)
        return result if not cut else ToolResult.reply(result.name, clipped, result.is_error)

    def close_turn(self) -> None:
        """Close the model's turn after whatever it last generated."""
        if not self.turn_open:
            return
        last = self.segments[-1]
        last_token = last.ids[-1] if last.kind is Kind.MODEL and last.ids else None
        self._append(Segment(Kind.CLOSE, [], self.turns, last_token=last_token))

    # ------------------------------------------------------------ rebuilding

    def rebuild(self, *, repo_context: str | None = None, system: str | None = None) -> None:
        """Re-render with a fresh prefix (and, when given, new system text or
        repo context): used by compaction, /think and resume."""
        if repo_context is not None:
            self.repo_context = repo_context
        if system is not None:
            self.system = system
        first = True
        for segment in self.segments[1:]:
            if segment.kind is Kind.USER:
                segment.preamble = self._preamble() if first else ""
                first = False
        self._refresh()

    def set_think(self, think: bool) -> None:
        if think != self.think:
            self.think = think
            self.rebuild()

    def clear(self) -> None:
        """Forget the conversation; keep the system prompt and context."""
        self.segments = self.segments[:1]
        self.summary = ""
        self.turns = 0
        self.rebuild()

    # ------------------------------------------------------------ budget

    def ensure_room(self, needed: int, summarize: Callable[[str], str] | None) -> list[str]:
        """Make `needed` tokens free after the history: first shorten old tool
        outputs, then compact finished turns into a summary the model writes.
        Returns notes on what was done; raises ContextFull when the current
        turn alone is too big."""
        notes: list[str] = []
        if self.free >= needed:
            return notes
        if self._shorten_tool_outputs(needed, keep_last=True):
            notes.append("shortened old tool outputs to make room")
        if self.free >= needed:
            return notes
        if summarize is not None and self._compact(needed, summarize):
            notes.append("compacted earlier turns into a summary")
        if self.free >= needed:
            return notes
        if self._shorten_tool_outputs(needed, keep_last=False):
            notes.append("shortened the latest tool outputs too")
        if self.free < needed:
            raise ContextFull(
                f"the conversation needs {len(self.ids) + needed} tokens but the context "
                f"holds {self.n_ctx}"
            )
        return notes

    def _shorten_tool_outputs(self, needed: int, keep_last: bool) -> bool:
        tools = [s for s in self.segments if s.kind is Kind.TOOLS and not s.shortened]
        if keep_last:
            tools = tools[:-1]
        if not tools:
            return False
        for segment in tools:
            segment.results = [_shorten(r) for r in segment.results]
            segment.shortened = True
            self._refresh()
            if self.free >= needed:
                break
        return True

    def _compact(self, needed: int, summarize: Callable[[str], str]) -> bool:
        """Replace every finished turn by a summary; the open turn stays as is."""
        current = self.turns if self.turn_open else self.turns + 1
        old = [s for s in self.segments[1:] if s.turn < current]
        if not old:
            return False
        budget_chars = max(2_000, (self.n_ctx - self.prefix_len - needed) * 2)
        transcript = self.transcript(old, max_chars=budget_chars)
        if self.summary:
            transcript = f"Earlier summary:\n{self.summary}\n\n{transcript}"
        summary = (
            summarize(transcript).strip() or "(the earlier conversation could not be summarized)"
        )
        self.summary = clip_text(self.tokenizer, summary, max(64, self.n_ctx // 8))[0]
        self.segments = [self.segments[0], *[s for s in self.segments[1:] if s.turn >= current]]
        self.compactions += 1
        self.rebuild()
        return True

    def transcript(self, segments: Sequence[Segment] | None = None, max_chars: int = 20_000) -> str:
        """Readable text of the conversation (newest kept when cut)."""
        lines: list[str] = []
        for segment in segments if segments is not None else self.segments[1:]:
            if segment.kind is Kind.USER:
                lines.append(f"User: {segment.text}")
            elif segment.kind is Kind.MODEL and segment.text.strip():
                lines.append(f"Assistant: {segment.text.strip()}")
            elif segment.kind is Kind.TOOLS:
                for result in segment.results:
                    content = _content_text(result)[:500]
                    lines.append(f"Tool {result.name} returned: {content}")
        text = "\n".join(lines)
        if len(text) > max_chars:
            text = "[… earlier part cut]\n" + text[-max_chars:]
        return text

    def usage(self) -> dict[str, int]:
        by_kind = {k.value: 0 for k in Kind}
        by_kind[Kind.PREFIX.value] = self.prefix_len
        done = self.prefix_len
        for k, segment in enumerate(self.segments[1:], start=2):
            gen = segment.kind in (Kind.USER, Kind.TOOLS)
            n = len(self._render(self.messages(self.segments[1:k]), gen))
            by_kind[segment.kind.value] += max(0, n - done)
            done = max(done, n)
        return {"context": self.n_ctx, "used": len(self.ids), "free": self.free, **by_kind}

    # ------------------------------------------------------------ saving

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "saved": time.time(),
            "model": self.model_name,
            "think": self.think,
            "summary": self.summary,
            "turns": self.turns,
            "segments": [
                {
                    "kind": s.kind.value,
                    "ids": s.ids if s.kind is Kind.MODEL else [],
                    "turn": s.turn,
                    "text": s.text,
                    "results": [_saved_result(r) for r in s.results],
                    "last_token": s.last_token,
                    "shortened": s.shortened,
                }
                for s in self.segments[1:]
            ],
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(self.to_json()).encode("utf-8"))

    def restore(self, data: object) -> bool:
        """Continue a saved conversation. With the same model its token history
        is kept (only re-rendered around a fresh prefix and repo context);
        with another model the old turns become a summary. True if tokens
        were kept. Raises DamagedSession, changing nothing, when `data` is not
        a well-formed saved chat for this model (wrong types, ids outside the
        vocabulary, which would crash llama_decode)."""
        saved = _parse_saved(data, self.tokenizer.n_vocab)
        if saved is None:
            return False  # another format version: start afresh
        self.think = saved.think if saved.think is not None else self.think
        self.summary = saved.summary
        self.turns = saved.turns
        same_model = saved.model == self.model_name
        if same_model:
            self.segments = [self.segments[0], *saved.segments]
            if self.turn_open:  # saved mid-turn (a crash): close it
                self.close_turn()
        else:
            old = self.transcript(saved.segments, max_chars=self.n_ctx)
            self.summary = "\n\n".join(p for p in (self.summary, old) if p)
            self.summary = clip_text(self.tokenizer, self.summary, self.n_ctx // 4)[0]
            self.segments = self.segments[:1]
        self.rebuild()
        return same_model

    def restore_file(self, path: Path) -> bool:
        """`restore` from a saved chat file. A damaged file (unreadable,
        truncated, not JSON, wrong types, foreign ids) is moved aside and
        DamagedSession says so in one line; the session stays fresh."""
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_SESSION_BYTES + 1)
            if len(raw) > MAX_SESSION_BYTES:
                raise DamagedSession(f"larger than {MAX_SESSION_BYTES >> 20} MB")
            data = json.loads(raw.decode("utf-8"))
            return self.restore(data)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError, DamagedSession) as exc:
            why = exc.args[0] if isinstance(exc, DamagedSession) else type(exc).__name__
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(path, aside)
                where = f"moved to {aside}"
            except OSError:
                where = "left in place"
            raise DamagedSession(
                f"saved chat {path} is damaged ({why}); {where}; starting a fresh session"
            ) from None


class DamagedSession(Exception):
    """A saved chat that cannot be restored; the message is one line."""


MAX_SESSION_BYTES = 64 << 20


@dataclass
class _Saved:
    model: object
    think: bool | None
    summary: str
    turns: int
    segments: list[Segment]


def _parse_saved(data: object, n_vocab: int) -> _Saved | None:
    """A saved chat, checked field by field; None for another format version."""
    if not isinstance(data, dict):
        raise DamagedSession("not a JSON object")
    if data.get("version") != FORMAT_VERSION:
        return None

    def ids_of(value: object, what: str) -> list[int]:
        if not isinstance(value, list):
            raise DamagedSession(f"{what} is not a list of token ids")
        for item in value:
            if type(item) is not int or not 0 <= item < n_vocab:
                raise DamagedSession(f"{what} holds {item!r}, not a token id of this model")
        return list(value)

    think = data.get("think")
    summary = data.get("summary", "")
    turns = data.get("turns", 0)
    raw_segments = data.get("segments", [])
    if think is not None and not isinstance(think, bool):
        raise DamagedSession("think is not true or false")
    if not isinstance(summary, str):
        raise DamagedSession("summary is not text")
    if type(turns) is not int or turns < 0:
        raise DamagedSession("turns is not a count")
    if not isinstance(raw_segments, list):
        raise DamagedSession("segments is not a list")
    segments = []
    for n, raw in enumerate(raw_segments):
        if not isinstance(raw, dict):
            raise DamagedSession(f"segment {n} is not an object")
        try:
            kind = Kind(raw.get("kind"))
        except ValueError:
            raise DamagedSession(f"segment {n} has an unknown kind") from None
        if kind is Kind.PREFIX:
            raise DamagedSession(f"segment {n} is a second prefix")
        last_token = raw.get("last_token")
        if last_token is not None:
            ids_of([last_token], f"segment {n} last_token")
        turn, text, shortened = raw.get("turn", 0), raw.get("text", ""), raw.get("shortened", False)
        if type(turn) is not int or not isinstance(text, str) or not isinstance(shortened, bool):
            raise DamagedSession(f"segment {n} has fields of the wrong type")
        results = raw.get("results", [])
        if not isinstance(results, list):
            raise DamagedSession(f"segment {n} results is not a list")
        tool_results = []
        for r in results:
            if not (
                isinstance(r, dict)
                and set(r) <= {"name", "content", "is_error"}
                and isinstance(r.get("name"), str)
                and isinstance(r.get("content"), (str, dict))
                and isinstance(r.get("is_error", False), bool)
            ):
                raise DamagedSession(f"segment {n} holds a malformed tool result")
            tool_results.append(ToolResult.reply(**r))
        segments.append(
            Segment(
                kind,
                ids_of(raw.get("ids", []), f"segment {n} ids"),
                turn,
                text=text,
                results=tool_results,
                last_token=last_token,
                shortened=shortened,
            )
        )
    return _Saved(data.get("model"), think, summary, turns, segments)


def _saved_result(result: ToolResult) -> dict[str, Any]:
    """The model-facing part of a result, as chat.json keeps it."""
    return {"name": result.name, "content": result.content, "is_error": result.is_error}


def _as_call(call: ToolCall | ToolCallError) -> ToolCall:
    """An invalid call still shows in the history, as the text the model wrote."""
    if isinstance(call, ToolCall):
        return call
    return ToolCall("invalid_call", {"text": call.raw or call.message})


def _content_text(result: ToolResult) -> str:
    if isinstance(result.content, str):
        return result.content
    return json.dumps(result.content)


def _shorten(result: ToolResult) -> ToolResult:
    text = _content_text(result)
    if len(text) <= SHORT_TOOL_OUTPUT:
        return result
    note = "\n[… output shortened to save context; call the tool again if you need it]"
    return ToolResult.reply(result.name, text[:SHORT_TOOL_OUTPUT] + note, result.is_error)


def latest_session_file(directory: Path) -> Path | None:
    """The most recently saved chat under a repository's sessions directory."""
    if not directory.is_dir():
        return None
    files = [p for p in directory.glob(f"*/{SESSION_FILE}") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime_ns, default=None)
