"""The composition root: settings → engine → protocol → tools → context →
session → agent, built in one place for chat, ask, edit, review and eval.

Commands say what they need (`ModelOptions`, a mode, an approval policy) and
get a `Runtime` back; nothing else in the package wires these parts together."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import Settings, load_settings, user_cache_dir

# The model stack (numpy, llama.cpp, protocols, tools) is imported inside the
# functions that build it: every command imports this module for
# `ModelOptions`, and `assistant --help`, the git hook, `map`, `undo` … must
# not pay for a stack they never use (tests/cli/test_startup.py).
if TYPE_CHECKING:
    from assistant.agent.context import Mode
    from assistant.agent.loop import Agent, ToolStep
    from assistant.agent.session import Session
    from assistant.llm.engine import Engine
    from assistant.llm.load_params import EngineConfig
    from assistant.tools.approval import ApprovalPolicy, Approver
    from assistant.tools.journal import UndoJournal
    from assistant.tools.registry import Toolbox

READS_FILE = "reads.json"

# Shows a message while a slow step runs (a spinner in the terminal, nothing in JSON).
Status = Callable[[str], AbstractContextManager[None]]


@contextlib.contextmanager
def no_status(message: str) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class ModelOptions:
    """What the user chose on the command line for any model-using command;
    None means "from the configuration"."""

    model: str | None = None
    ctx: int | None = None
    threads: int | None = None
    trace: Path | None = None
    verbose: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    max_steps: int = 12
    think: bool = False
    endpoint: str | None = None
    chat_template: Path | None = None
    # The symbol-level tools (outline, replace_symbol, …); `eval run --tools basic`
    # turns them off to measure what they are worth.
    symbol_tools: bool = True

    def flags(self) -> dict[str, object]:
        """The settings these options override (config layer "flag")."""
        values = {
            "model": self.model,
            "n_ctx": self.ctx,
            "threads": self.threads,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "endpoint": self.endpoint,
            "chat_template": str(self.chat_template) if self.chat_template else None,
        }
        return {key: value for key, value in values.items() if value is not None}


def settings_for(root: Path | None, opts: ModelOptions) -> Settings:
    """The merged settings; their notes (a capped value, repository settings
    not trusted) go to stderr, one line each."""
    settings = load_settings(root, opts.flags())
    for note in settings.notes:
        sys.stderr.write(f"note: {note}\n")
    return settings


# Setting → the EngineConfig field it becomes. One table for the run
# (engine_config) and for `config show`'s effective values (effective_settings):
# a new engine setting is one entry here.
ENGINE_SETTINGS = {
    "n_ctx": "n_ctx",
    "threads": "n_threads",
    "flash_attn": "flash_attn",
    "kv_type": "kv_type",
}


def engine_config(settings: Settings, *, verbose: bool = False) -> EngineConfig:
    from assistant.llm.hardware import ExtraBuffers
    from assistant.llm.load_params import EngineConfig

    return EngineConfig(
        **{field: getattr(settings, name) for name, field in ENGINE_SETTINGS.items()},
        # decided at load from llama.cpp's report (llm/hardware.py); doctor shows it
        extra_buffers=ExtraBuffers(settings.extra_buffers),
        verbose=verbose,
        prefix_cache_dir=user_cache_dir() / "prefix-states",
        prefix_cache_max_bytes=settings.prefix_cache_mb << 20,
        first_decode_marker=user_cache_dir() / FIRST_DECODE_DIR,
    )


FIRST_DECODE_DIR = "first-decode"  # see llm/hardware.py: FirstDecode
API_KEY_ENV = "ASSISTANT_API_KEY"  # read here only; never stored in settings or shown
TIMEOUT_ENV = "ASSISTANT_ENDPOINT_TIMEOUT"  # seconds without data before a server counts as gone


def load_engine(
    settings: Settings,
    *,
    verbose: bool = False,
    trace: Path | None = None,
    prefix_cache_dir: Path | bool | None = True,
    status: Status = no_status,
) -> Engine:
    """The one place a model is opened: a `llama-server` when an endpoint is
    set, else the GGUF in-process. `prefix_cache_dir` (in-process only): True
    for the default disk prefix cache, False for none, or a directory."""
    from assistant.llm.trace import TraceWriter

    writer = TraceWriter(trace) if trace else None
    if settings.endpoint:
        from assistant import netguard
        from assistant.llm.remote import (
            READ_TIMEOUT_S,
            RemoteEngine,
            check_endpoint,
            describe_endpoint,
        )

        netguard.allow_endpoint(check_endpoint(settings.endpoint))
        with status(f"connecting to {describe_endpoint(settings.endpoint)}…"):
            return RemoteEngine.connect(
                settings.endpoint,
                os.environ.get(API_KEY_ENV) or None,
                n_ctx=settings.n_ctx if settings.sources.get("n_ctx") != "default" else None,
                trace=writer,
                timeout=_float_env(TIMEOUT_ENV, READ_TIMEOUT_S),
            )
    from assistant.llm.hardware import take_crashed_first_decodes
    from assistant.llm.llama import LlamaEngine
    from assistant.llm.models import resolve_model_path

    path = resolve_model_path(settings)
    config = engine_config(settings, verbose=verbose)
    if config.first_decode_marker is not None:
        for crashed in take_crashed_first_decodes(config.first_decode_marker):
            sys.stderr.write(f"note: {crashed.describe()}\n")
    if prefix_cache_dir is False:
        config = replace(config, prefix_cache_dir=None)
    elif isinstance(prefix_cache_dir, Path):
        config = replace(config, prefix_cache_dir=prefix_cache_dir)
    with status(f"loading {path.name}…"):
        return LlamaEngine.load(path, config, writer)


def effective_settings(settings: Settings) -> dict[str, object]:
    """The value the run uses for each engine setting (ENGINE_SETTINGS), from
    the code the run calls: the model's context cap, default threads and KV
    type (llm/load_params.py resolve_config). Empty with an endpoint: the server
    decides those."""
    if settings.endpoint:
        return {}
    from assistant.errors import AssistantError
    from assistant.llm.load_params import resolve_config
    from assistant.llm.models import resolve_model_path

    try:
        path: Path | None = resolve_model_path(settings)
    except AssistantError:
        path = None  # no model yet: nothing caps the context
    used = resolve_config(engine_config(settings), path)
    return {name: getattr(used, field) for name, field in ENGINE_SETTINGS.items()}


def _float_env(name: str, default: float) -> float:
    from assistant.errors import UsageError

    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1e6:
        raise UsageError(f"{name} must be a number of seconds above 0, not {value!r}")
    return number


@dataclass
class Runtime:
    root: Path
    settings: Settings
    engine: Engine
    toolbox: Toolbox
    session: Session
    agent: Agent
    journal: UndoJournal
    owns_engine: bool = True  # False when the caller lent its engine (eval re-uses one)

    def close(self) -> None:
        if self.owns_engine:
            self.engine.close()


def open_runtime(
    opts: ModelOptions,
    *,
    root: Path,
    mode: Mode,
    policy: ApprovalPolicy,
    status: Status = no_status,
    approver: Approver | None = None,
    dry_run: bool = False,
    focus_files: tuple[str, ...] = (),
    plan: tuple[ToolStep, ...] = (),
    session_id: str | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
) -> Runtime:
    """A runtime for one command. `engine` (with the `settings` it was loaded
    with): re-use a loaded model, as `eval` does for every task; the caller
    then keeps it and closes it itself."""
    from assistant.agent.context import repo_context, system_text
    from assistant.agent.loop import Agent, AgentConfig
    from assistant.agent.session import Session
    from assistant.llm.repetition import RepetitionLimit
    from assistant.llm.sampling_defaults import sampling_for
    from assistant.protocols import make_protocol
    from assistant.tools.journal import UndoJournal, new_session_id
    from assistant.tools.registry import Toolbox

    owns_engine = engine is None
    settings = settings or settings_for(root, opts)
    if engine is None:
        engine = load_engine(settings, verbose=opts.verbose, trace=opts.trace, status=status)
    try:
        template_path = Path(settings.chat_template) if settings.chat_template else None
        protocol = make_protocol(
            engine.tokenizer, engine.chat_template, engine.metadata, template_path=template_path
        )
        journal = UndoJournal.for_session(root, session_id or new_session_id())
        toolbox = Toolbox(
            root,
            policy,
            approver,
            journal,
            allow_commands=settings.allow_commands,
            dry_run=dry_run,
            state_path=journal.directory / READS_FILE,
            symbol_tools=opts.symbol_tools,
        )
        with status("mapping the repository…"):
            context = repo_context(root, min(settings.map_tokens, engine.n_ctx // 8), focus_files)
        session = Session(
            protocol,
            engine.tokenizer,
            engine.n_ctx,
            system=system_text(mode, root, [spec.name for spec in toolbox.specs()]),
            tools=toolbox.specs(),
            think=opts.think,
            repo_context=context.render(),
            model_name=engine.name,
        )
        agent_config = AgentConfig(
            max_steps=opts.max_steps,
            max_tokens=min(settings.max_tokens, engine.n_ctx // 4),
            sampling=sampling_for(settings, engine.metadata, seed=0),
            plan=plan,
            repetition=RepetitionLimit() if settings.stop_repetition else None,
        )
        agent = Agent(engine, session, toolbox, agent_config)
        with status(f"reading the system prompt ({session.prefix_len} tokens)…"):
            agent.warm_up()
    except BaseException:
        if owns_engine:
            engine.close()
        raise
    return Runtime(root, settings, engine, toolbox, session, agent, journal, owns_engine)
