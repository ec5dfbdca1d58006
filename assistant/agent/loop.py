"""The agent loop, one for every entry point (chat, ask, edit).

    user text → session (token history) → model → tool calls, run under the
    approval policy → results → model … until it answers without a call.

The loop streams every event to one `emit` callback (the renderer), keeps the
session inside the context window (see `Session.ensure_room`), and stops
cleanly at a step limit, on identical repeated calls, on Ctrl-C, or when the
user quits at an approval. A tool error goes back to the model, never to the
user as a failure."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import FrameType

from assistant.agent.session import ContextFull, Session
from assistant.errors import GenerationFailed
from assistant.events import (
    Done,
    Emit,
    Event,
    Notice,
    Outcome,
    Progress,
    StepStats,
    StopReason,
    TextDelta,
    ToolCall,
    ToolCallError,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from assistant.llm.engine import (
    CancelToken,
    Engine,
    GenerationRequest,
    GenerationStats,
    GrammarSpec,
    SamplingParams,
    common_prefix_length,
)
from assistant.llm.repetition import RepetitionLimit
from assistant.protocols.base import (
    GrammarOptions,
    Message,
    Role,
    ToolChoice,
    ToolChoiceMode,
    ToolResult,
)
from assistant.tools.registry import Toolbox
from assistant.toolspec import EXISTING_PATH_KEY, ToolSpec

MAX_GRAMMAR_PATHS = 2_000  # beyond this many files a path grammar costs more than it helps


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ToolStep:
    """How one step of a turn may call tools: `choice` over the tools named in
    `tools` (all offered tools when empty). `paths` restricts path arguments
    to these existing files (all repo files when None); `until_change` keeps
    the step in force until a call of it changes a file (an edit must edit)."""

    choice: ToolChoice = field(default_factory=ToolChoice)
    tools: tuple[str, ...] = ()
    paths: tuple[str, ...] | None = None
    until_change: bool = False
    # For small models: only the required arguments, and one call per step.
    required_only: bool = False
    single_call: bool = False


def edit_plan(files: Sequence[str]) -> tuple[ToolStep, ...]:
    """Steps for "make this change": with files named, the first step must
    change one of them (one call, required arguments, paths restricted to
    them), so even a small model edits instead of talking; without files the
    first step must call some tool. Later steps are free."""
    if files:
        return (
            ToolStep(
                ToolChoice(ToolChoiceMode.REQUIRED),
                # Only the offered ones count (no symbol tools when they are off).
                tools=("edit_file", "replace_symbol", "insert_symbol", "write_file"),
                paths=tuple(files),
                until_change=True,
                required_only=True,
                single_call=True,
            ),
        )
    return (ToolStep(ToolChoice(ToolChoiceMode.REQUIRED), single_call=True),)


@dataclass(frozen=True)
class AgentConfig:
    max_steps: int = 12
    max_repeats: int = 2  # identical calls allowed per turn; one more is refused, then stop
    max_tokens: int = 2048  # per generation
    summary_tokens: int = 512  # for the summary that compaction asks for
    sampling: SamplingParams = field(default_factory=lambda: SamplingParams(temperature=0.2))
    # Tool choice for the first steps of every turn; later steps are "auto".
    plan: tuple[ToolStep, ...] = ()
    # Stop an answer that loops (None: never); see llm/repetition.py.
    repetition: RepetitionLimit | None = field(default_factory=RepetitionLimit)
    grammar_options: GrammarOptions = field(
        default_factory=lambda: GrammarOptions(max_string_tokens=2048, max_array_items=64)
    )


# ---------------------------------------------------------------- the loop


@dataclass
class _Turn:
    steps: int = 0
    calls: int = 0
    plan_index: int = 0
    answer: str = ""
    changed: list[str] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    stats: GenerationStats = field(default_factory=GenerationStats)
    cut_steps: int = 0  # steps whose generation hit max_tokens


class Agent:
    def __init__(
        self,
        engine: Engine,
        session: Session,
        toolbox: Toolbox,
        config: AgentConfig | None = None,
    ) -> None:
        self.engine = engine
        self.session = session
        self.toolbox = toolbox
        self.config = config or AgentConfig()
        self.protocol = session.protocol
        self.cancel = CancelToken()
        self._in_tool = False
        self._repo_files: list[str] | None = None
        self._plan = self.config.plan

    # ------------------------------------------------------------ public

    def run(self, text: str, emit: Emit, plan: tuple[ToolStep, ...] | None = None) -> TurnFinished:
        """One user turn, to its end (`plan` overrides the configured one for
        this turn). Ctrl-C (SIGINT) cancels it cleanly."""
        self.cancel.reset()
        self._plan = self.config.plan if plan is None else plan
        self._repo_files = None
        with self._sigint_cancels():
            result = self._run(text, emit)
        emit(result)
        return result

    def warm_up(self) -> None:
        """Evaluate the system prefix alone so the disk cache holds it too; the
        first turn then saves the longer prefix that includes the repo context.
        A later command whose repo context changed still loads the short one."""
        prefix = self.session.ids[: self.session.prefix_len]
        request = GenerationRequest(prefix, max_tokens=0, cache_boundary=len(prefix))
        for _ in self.engine.generate(request):
            pass

    # ------------------------------------------------------------ turn

    def _run(self, text: str, emit: Emit) -> TurnFinished:
        session = self.session
        turn = _Turn()
        cut = session.add_user(text)
        if cut:
            emit(Notice(f"your message was too long: about {cut} tokens were cut", warning=True))
        outcome = Outcome.DONE
        while True:
            step = self._current_step(turn)
            try:
                notes = session.ensure_room(self._reserve(), self._summarize)
            except ContextFull as exc:
                emit(Notice(f"stopped: {exc}. Use /clear to start over.", warning=True))
                outcome = Outcome.CONTEXT_FULL
                break
            for note in notes:
                emit(Notice(note))
            turn.steps += 1
            events, ids = self._generate(step, emit, turn)
            done = next((e for e in events if isinstance(e, Done)), Done(StopReason.END_OF_TURN))
            text_out = "".join(e.text for e in events if isinstance(e, TextDelta))
            calls = [e for e in events if isinstance(e, ToolCall | ToolCallError)]
            session.add_model(ids, _readable(text_out, calls))
            if text_out.strip():
                turn.answer = text_out.strip()
            if done.reason is StopReason.CANCELLED:
                outcome = Outcome.after(done.reason)
                break
            if done.reason is StopReason.ERROR:
                outcome = Outcome.FAILED
                break
            if self.engine.last_stats.stop_reason is StopReason.MAX_TOKENS:
                turn.cut_steps += 1
            if done.reason is not StopReason.TOOL_CALL or not calls:
                outcome = Outcome.after(done.reason)
                if outcome is Outcome.TRUNCATED:
                    what = "a tool call" if calls else "the answer"
                    emit(
                        Notice(
                            f"{what} was cut at the token limit ({self.config.max_tokens:,} "
                            "tokens; raise it with --max-tokens)",
                            warning=True,
                        )
                    )
                elif not text_out.strip() and not calls:
                    # A parser's warning (an imitated tool result) already
                    # said why there is no answer.
                    if not any(isinstance(e, Notice) and e.warning for e in events):
                        emit(Notice("the model returned an empty answer", warning=True))
                    outcome = Outcome.EMPTY
                elif step.until_change and not turn.changed:
                    outcome = Outcome.EMPTY
                    emit(Notice("the model answered without making the change", warning=True))
                break
            results, stop = self._run_calls(calls, turn, emit)
            session.add_tool_results(results, ids[-1] if ids else None)
            if stop is not None:
                outcome = stop
                break
            if turn.steps >= self.config.max_steps:
                # The calls of the last step ran; only the model's follow-up is cut.
                why = (
                    "every call was cut at the token limit (raise it with --max-tokens, "
                    f"now {self.config.max_tokens:,})"
                    if turn.cut_steps == turn.steps
                    else "the model kept calling tools without finishing "
                    "(raise the limit with --max-steps)"
                )
                emit(Notice(f"stopped after {turn.steps} steps: {why}", warning=True))
                outcome = Outcome.STEP_LIMIT
                break
        session.close_turn()
        if outcome is Outcome.CANCELLED:
            emit(Notice("stopped", warning=True))
        return TurnFinished(
            turn.answer, outcome, turn.steps, turn.calls, tuple(turn.changed), turn.stats
        )

    def _current_step(self, turn: _Turn) -> ToolStep:
        plan = self._plan
        while turn.plan_index < len(plan):
            step = plan[turn.plan_index]
            if step.until_change and turn.changed:
                turn.plan_index += 1
                continue
            return step
        return ToolStep()

    def _advance(self, turn: _Turn, step: ToolStep) -> None:
        if turn.plan_index < len(self._plan) and not step.until_change:
            turn.plan_index += 1

    def _reserve(self) -> int:
        """Tokens to keep free for one generation."""
        return min(self.config.max_tokens, max(256, self.session.n_ctx // 4))

    # ------------------------------------------------------------ generation

    def _grammar(self, step: ToolStep) -> GrammarSpec | None:
        specs = self.session.tools
        if step.tools:
            specs = [s for s in specs if s.name in step.tools]
        if not specs:
            return None
        choice = step.choice
        paths: Sequence[str] | None = step.paths
        if paths is None:
            paths = self._files()
        else:
            specs = [_existing_path_spec(s) for s in specs]
        if step.required_only:
            specs = [_required_only(s) for s in specs]
        if choice.mode is ToolChoiceMode.AUTO and len(specs) < len(self.session.tools):
            choice = ToolChoice(ToolChoiceMode.REQUIRED)  # a subset only makes sense forced
        # A string must close well before the token limit, or the call is cut off.
        options = self.config.grammar_options
        limit = max(16, self.config.max_tokens // 2 - 32)
        if options.max_string_tokens is None or options.max_string_tokens > limit:
            options = replace(options, max_string_tokens=limit)
        if step.single_call:
            options = replace(options, parallel_calls=False)
        return self.protocol.grammar(
            specs, choice, think=self.session.think, existing_paths=paths, options=options
        )

    def _files(self) -> list[str] | None:
        if self._repo_files is None:
            try:
                self._repo_files = self.toolbox.context.repo_files()
            except Exception:
                self._repo_files = []
        files = self._repo_files
        return files if 0 < len(files) <= MAX_GRAMMAR_PATHS else None

    def _generate(self, step: ToolStep, emit: Emit, turn: _Turn) -> tuple[list[Event], list[int]]:
        session = self.session
        prompt = list(session.ids)
        have = common_prefix_length(self.engine.cached_tokens, prompt)
        new = len(prompt) - have
        message = f"reading {new:,} new tokens"
        emit(Progress(message, new, step=turn.steps))
        started = time.perf_counter()

        def on_progress(done: int, total: int) -> None:
            if done < total:  # the last batch is followed by the first token
                emit(Progress(message, new, done, total, time.perf_counter() - started))

        request = GenerationRequest(
            prompt,
            max_tokens=max(1, min(self.config.max_tokens, session.free - 1)),
            sampling=self.config.sampling,
            grammar=self._grammar(step),
            stop_ids=self.protocol.stop_ids,
            cache_boundary=session.cache_boundary,
            repetition=self.config.repetition,
            on_progress=on_progress,
        )
        self._advance(turn, step)
        parser = self.protocol.new_parser(session.tools)
        events: list[Event] = []
        ids: list[int] = []
        writing: str | None = None
        failure: GenerationFailed | None = None
        tokens = self.engine.generate(request, self.cancel)
        try:
            for token in tokens:
                ids.append(token.id)
                for event in parser.feed(token):
                    events.append(event)
                    emit(event)
                if parser.stop_requested:
                    break  # what would follow is dropped: no need to generate it
                # Protocols that can tell (Gemma 4) name the call while it streams.
                name = getattr(parser, "writing_call", None)
                if name and name != writing:
                    emit(Progress(f"writing {name} call"))
                writing = name
        except GenerationFailed as exc:
            failure = exc
        finally:
            tokens.close()
        stats = self.engine.last_stats
        # The engine's END_OF_TURN is left to the parser (it may be a tool call);
        # a loop cut short ends the answer: what came before it stands.
        reason: StopReason | None = stats.stop_reason
        if reason is StopReason.END_OF_TURN:
            reason = None
        elif reason is StopReason.REPETITION:
            reason = StopReason.END_OF_TURN
        if self.cancel.cancelled:
            reason = StopReason.CANCELLED
        if failure is not None:
            emit(Notice(f"the answer broke off: {failure.message}", warning=True))
            reason = StopReason.ERROR
        for event in parser.finish(reason):
            events.append(event)
            emit(event)
        if stats.stop_reason is StopReason.REPETITION:
            emit(
                Notice(
                    "stopped: the model was repeating itself "
                    f"({stats.repeated_tokens} tokens in a loop; {stats.saved_tokens} tokens saved)",
                    warning=True,
                )
            )
        _add_stats(turn.stats, stats)
        emit(StepStats(stats, len(session.ids) + len(ids), session.n_ctx))
        return events, ids

    def _summarize(self, transcript: str) -> str:
        """The model's summary of `transcript` (for compaction)."""
        from assistant import prompts

        return self.complete(
            prompts.load("compact").strip(), transcript, self.config.summary_tokens
        )

    def complete(self, instruction: str, text: str, max_tokens: int) -> str:
        """A one-off answer outside the conversation (summaries, commit
        messages): its own short prompt, no tools, greedy. The session's KV
        cache is displaced; the next turn re-evaluates its history once."""
        from assistant.agent.session import clip_text

        proto = self.protocol
        system = [Message(Role.SYSTEM, instruction)]
        fixed = len(proto.render_messages([*system, Message(Role.USER, "")], [], False))
        budget = self.session.n_ctx - fixed - max_tokens - 64
        body, _ = clip_text(self.session.tokenizer, text, max(64, budget))
        prompt = proto.render_messages([*system, Message(Role.USER, body)], [], False)
        request = GenerationRequest(
            prompt,
            max_tokens=max_tokens,
            sampling=SamplingParams(temperature=0.0),
            stop_ids=proto.stop_ids,
            repetition=self.config.repetition,
        )
        parser = proto.new_parser([])
        out: list[str] = []
        tokens = self.engine.generate(request, self.cancel)
        with contextlib.closing(tokens):
            for token in tokens:
                out.extend(e.text for e in parser.feed(token) if isinstance(e, TextDelta))
                if parser.stop_requested:
                    break
        out.extend(e.text for e in parser.finish() if isinstance(e, TextDelta))
        return "".join(out).strip()

    # ------------------------------------------------------------ tools

    def _run_calls(
        self,
        calls: Sequence[ToolCall | ToolCallError],
        turn: _Turn,
        emit: Emit,
    ) -> tuple[list[ToolResult], Outcome | None]:
        results: list[ToolResult] = []
        stop: Outcome | None = None
        for call in calls:
            if stop is not None:
                results.append(
                    ToolResult.reply(_name(call), f"error: not run ({stop.value})", True)
                )
                continue
            if isinstance(call, ToolCallError):
                key = "invalid:" + call.message
            else:
                turn.calls += 1
                key = call.name + json.dumps(call.arguments, sort_keys=True, default=str)
            turn.seen[key] += 1
            count = turn.seen[key]
            if isinstance(call, ToolCallError):
                results.append(ToolResult.reply("error", f"error: {call.message}", True))
                emit(ToolFinished("(invalid call)", {}, False, call.message))
                if count > self.config.max_repeats + 1:
                    stop = Outcome.REPEATED
                    emit(
                        Notice("stopped: the model kept making the same invalid call", warning=True)
                    )
                continue
            if count > self.config.max_repeats + 1:
                stop = Outcome.REPEATED
                emit(
                    Notice(
                        f"stopped: the model kept repeating the same {call.name} call",
                        warning=True,
                    )
                )
                results.append(ToolResult.reply(call.name, "error: not run (repeated call)", True))
                continue
            if count > self.config.max_repeats:
                message = (
                    f"error: you already called {call.name} with exactly these arguments "
                    f"{count - 1} times; the result will not change. Use the earlier result, "
                    "try something different, or give your final answer."
                )
                results.append(ToolResult.reply(call.name, message, True))
                emit(ToolFinished(call.name, call.arguments, False, message))
                continue
            emit(ToolStarted(call.name, call.arguments))
            result, interrupted = self._call_tool(call)
            emit(
                ToolFinished(
                    call.name, call.arguments, result.ok, result.text, result.diff, result.path
                )
            )
            results.append(replace(result, name=call.name))
            if result.ok and result.diff and result.path and result.path not in turn.changed:
                turn.changed.append(result.path)
            if interrupted:
                stop = Outcome.CANCELLED
            elif self.toolbox.quit_requested:
                stop = Outcome.QUIT
        return results, stop

    def _call_tool(self, call: ToolCall) -> tuple[ToolResult, bool]:
        self._in_tool = True
        try:
            return self.toolbox.call(call.name, call.arguments), False
        except KeyboardInterrupt:
            return ToolResult.error(f"{call.name} was interrupted by the user"), True
        finally:
            self._in_tool = False

    # ------------------------------------------------------------ Ctrl-C

    @contextlib.contextmanager
    def _sigint_cancels(self) -> Iterator[None]:
        """Ctrl-C cancels generation (the engine stops within a token) and
        interrupts a running tool; the session stays usable either way."""
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.cancel.cancel()
            if self._in_tool:
                raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------- helpers


def _name(call: ToolCall | ToolCallError) -> str:
    return call.name if isinstance(call, ToolCall) else "error"


def _readable(text: str, calls: Sequence[ToolCall | ToolCallError]) -> str:
    """The model's output as text, for transcripts and summaries."""
    parts = [text.strip()] if text.strip() else []
    for call in calls:
        if isinstance(call, ToolCall):
            parts.append(f"[called {call.name}({json.dumps(call.arguments, default=str)[:300]})]")
    return "\n".join(parts)


def _add_stats(total: GenerationStats, step: GenerationStats) -> None:
    total.prompt_tokens = step.prompt_tokens
    total.reused_tokens += step.reused_tokens
    total.loaded_tokens += step.loaded_tokens
    total.evaluated_tokens += step.evaluated_tokens
    total.generated_tokens += step.generated_tokens
    total.prompt_eval_ms += step.prompt_eval_ms
    total.generation_ms += step.generation_ms
    total.stop_reason = step.stop_reason


def _existing_path_spec(spec: ToolSpec) -> ToolSpec:
    """`spec` with its `path` argument restricted to existing files (for a
    forced step on files the user named, write_file included)."""
    params = dict(spec.parameters)
    props = dict(params.get("properties", {}))
    if "path" in props:
        props["path"] = {**props["path"], EXISTING_PATH_KEY: True}
        params["properties"] = props
        return replace(spec, parameters=params)
    return spec


def _required_only(spec: ToolSpec) -> ToolSpec:
    """`spec` declaring only its required arguments (for the grammar: a small
    model then cannot fill optional ones with nonsense)."""
    params = dict(spec.parameters)
    required = set(params.get("required", []))
    params["properties"] = {k: v for k, v in params.get("properties", {}).items() if k in required}
    return replace(spec, parameters=params)
