"""`assistant ask` and `assistant edit` (alias `refactor`): one question or one
change, non-interactive and scriptable. Also the start-up shared with `chat`
(`open_runtime`): settings, model, protocol, tools, context, session, agent.

Exit codes: 0 done, 1 the model could not complete the task, 2 usage error,
3 no usable model."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from assistant.agent.context import Mode, repo_context, system_text
from assistant.agent.loop import Agent, AgentConfig, ToolStep, edit_plan
from assistant.agent.session import Session
from assistant.cli.options import engine_config
from assistant.config import Settings, load_settings
from assistant.errors import AssistantError, UsageError
from assistant.llm.engine import SamplingParams
from assistant.llm.llama import LlamaEngine
from assistant.llm.trace import TraceWriter
from assistant.protocols import make_protocol
from assistant.tools.approval import ApprovalPolicy, Approver
from assistant.tools.journal import UndoJournal, new_session_id
from assistant.tools.registry import Toolbox
from assistant.ui.render import AnyRenderer, make_renderer

EXIT_HELP = (
    "Exit codes: 0 done, 1 the model could not complete the task, 2 usage error, 3 no model."
)
READS_FILE = "reads.json"
MAX_FILE_TOKENS_SHARE = 0.4  # of the context, for files the user names


@dataclass
class Runtime:
    root: Path
    settings: Settings
    engine: LlamaEngine
    toolbox: Toolbox
    session: Session
    agent: Agent
    journal: UndoJournal

    def close(self) -> None:
        self.engine.close()


@dataclass(frozen=True)
class ModelOptions:
    """The options every model-using command shares."""

    model: str | None = None
    ctx: int | None = None
    threads: int | None = None
    trace: Path | None = None
    verbose: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    max_steps: int = 12
    think: bool = False
    chat_template: Path | None = None


def find_root() -> Path:
    from assistant.repo.git import require_repo_root

    return require_repo_root(Path.cwd())


def open_runtime(
    opts: ModelOptions,
    *,
    root: Path,
    mode: str,
    renderer: AnyRenderer,
    policy: ApprovalPolicy,
    approver: Approver | None = None,
    dry_run: bool = False,
    focus_files: tuple[str, ...] = (),
    plan: tuple[ToolStep, ...] = (),
    session_id: str | None = None,
) -> Runtime:
    from assistant.llm.models import resolve_model_path

    flags = {
        "model": opts.model,
        "n_ctx": opts.ctx,
        "threads": opts.threads,
        "temperature": opts.temperature,
        "max_tokens": opts.max_tokens,
        "chat_template": str(opts.chat_template) if opts.chat_template else None,
    }
    settings = load_settings(root, flags)
    path = resolve_model_path(settings.model, settings)
    config = engine_config(settings, verbose=opts.verbose)
    trace = TraceWriter(opts.trace) if opts.trace else None
    with renderer.status(f"loading {path.name}…"):
        engine = LlamaEngine.load(path, config, trace)
    template_path = Path(settings.chat_template) if settings.chat_template else None
    try:
        protocol = make_protocol(
            engine.tokenizer, engine.chat_template, engine.metadata, template_path=template_path
        )
    except Exception:
        engine.close()
        raise
    journal = UndoJournal.for_session(root, session_id or new_session_id())
    toolbox = Toolbox(
        root,
        policy,
        approver,
        journal,
        allow_commands=settings.allow_commands,
        dry_run=dry_run,
        state_path=journal.directory / READS_FILE,
    )
    with renderer.status("mapping the repository…"):
        context = repo_context(root, min(settings.map_tokens, engine.n_ctx // 8), focus_files)
    session = Session(
        protocol,
        engine.tokenizer,
        engine.n_ctx,
        system=system_text(mode, root),
        tools=toolbox.specs(),
        think=opts.think,
        repo_context=context.render(),
        model_name=path.name,
    )
    agent_config = AgentConfig(
        max_steps=opts.max_steps,
        max_tokens=min(settings.max_tokens, engine.n_ctx // 4),
        sampling=SamplingParams(
            temperature=settings.temperature, repeat_penalty=settings.repeat_penalty, seed=0
        ),
        plan=plan,
    )
    agent = Agent(engine, session, toolbox, agent_config)
    with renderer.status(f"reading the system prompt ({session.prefix_len} tokens)…"):
        agent.warm_up()
    return Runtime(root, settings, engine, toolbox, session, agent, journal)


def attach_files(toolbox: Toolbox, files: list[str], max_chars: int) -> str:
    """The named files as the model would read them (which also lets it edit
    them without reading again), for the head of the user's message."""
    parts: list[str] = []
    for name in files:
        result = toolbox.call("read_file", {"path": name})
        if not result.ok:
            raise UsageError(f"cannot use {name}: {result.text.removeprefix('error: ')}")
        parts.append(result.text)
    text = "\n\n".join(parts)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n[… files cut to fit the context]"
    return f"Files the user attached (already read):\n{text}" if parts else ""


def check_files(root: Path, files: tuple[str, ...]) -> tuple[str, ...]:
    """Fail before the model loads when a named file does not exist."""
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        raise UsageError(f"no such file in {root}: {', '.join(missing)}")
    return files


def read_request(text: str | None, what: str) -> str:
    """The question or instruction: the argument, or stdin when it is '-'."""
    if text == "-":
        text = sys.stdin.read()
    if text is None or not text.strip():
        raise UsageError(f'give the {what} as an argument, e.g. assistant {what.split()[0]} "…"')
    return text.strip()


def _message(request: str, attached: str) -> str:
    return f"{attached}\n\n{request}" if attached else request


def _exit(code: int) -> typer.Exit:
    return typer.Exit(code)


def git_diff_of(root: Path, files: tuple[str, ...]) -> str:
    proc = subprocess.run(
        ["git", "diff", "--", *files], cwd=root, capture_output=True, text=True, check=False
    )
    return proc.stdout


def commit_changes(runtime: Runtime, files: tuple[str, ...], instruction: str) -> tuple[str, str]:
    """Commit exactly the changed files with a message the model writes."""
    from assistant import prompts

    root = runtime.root
    subprocess.run(["git", "add", "--", *files], cwd=root, check=True, capture_output=True)
    diff = subprocess.run(
        ["git", "diff", "--cached", "--", *files], cwd=root, capture_output=True, text=True
    ).stdout
    message = runtime.agent.complete(prompts.load("commit").strip(), diff, 96)
    message = message.strip().strip("`").strip()
    if not message or len(message.splitlines()[0]) > 100:
        message = f"Edit: {instruction.splitlines()[0][:60]}"
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", message, "--", *files],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise AssistantError(f"git commit failed: {proc.stderr.strip() or proc.stdout.strip()}")
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    return sha, message


# ---------------------------------------------------------------- commands

ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="GGUF file (or a known model name).")
]
CtxOpt = Annotated[int | None, typer.Option("--ctx", help="Context size in tokens.")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="CPU threads.")]
TraceOpt = Annotated[
    Path | None, typer.Option("--trace", help="Append every model call to this JSON-lines file.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", help="Show llama.cpp's own log.")]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="JSON lines of events: text, tool calls, diffs, final, stats."),
]
ThinkOpt = Annotated[bool, typer.Option("--think", help="Let the model think first (slower).")]
StepsOpt = Annotated[int, typer.Option("--max-steps", help="Most model calls in one task.")]
TokensOpt = Annotated[int | None, typer.Option("--max-tokens", help="Most tokens per model call.")]
TempOpt = Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")]
TemplateOpt = Annotated[
    Path | None,
    typer.Option("--chat-template", help="Jinja chat template used instead of the GGUF's own."),
]


def register(app: typer.Typer) -> None:
    """Add `ask`, `edit` and `refactor` to `app`."""

    @app.command("ask", epilog=EXIT_HELP)
    def ask(
        question: Annotated[
            str | None, typer.Argument(help="The question ('-' reads it from stdin).")
        ] = None,
        files: Annotated[
            list[str] | None,
            typer.Option("--files", "-f", help="Files to include with the question."),
        ] = None,
        as_json: JsonOpt = False,
        think: ThinkOpt = False,
        model: ModelOpt = None,
        ctx: CtxOpt = None,
        threads: ThreadsOpt = None,
        trace: TraceOpt = None,
        verbose: VerboseOpt = False,
        max_steps: StepsOpt = 12,
        max_tokens: TokensOpt = None,
        temperature: TempOpt = None,
        chat_template: TemplateOpt = None,
    ) -> None:
        """Answer a question about this repository with read-only tools."""
        text = read_request(question, "ask question")
        root = find_root()
        check_files(root, tuple(files or ()))
        opts = ModelOptions(
            model,
            ctx,
            threads,
            trace,
            verbose,
            temperature,
            max_tokens,
            max_steps,
            think,
            chat_template,
        )
        renderer = make_renderer(as_json=as_json, show_thoughts=think)
        runtime = open_runtime(
            opts,
            root=root,
            mode=Mode.ASK,
            renderer=renderer,
            policy=ApprovalPolicy.READ_ONLY,
            focus_files=tuple(files or ()),
        )
        try:
            attached = attach_files(
                runtime.toolbox,
                list(files or ()),
                int(runtime.engine.n_ctx * MAX_FILE_TOKENS_SHARE * 3),
            )
            result = runtime.agent.run(_message(text, attached), renderer)
            renderer.close()
        finally:
            runtime.close()
        raise _exit(0 if result.outcome.ok else 1)

    def edit(
        instruction: Annotated[
            str | None, typer.Argument(help="What to change ('-' reads it from stdin).")
        ] = None,
        files: Annotated[
            list[str] | None, typer.Argument(help="Files to change (the model sees them first).")
        ] = None,
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="Apply the change (default: dry run).")
        ] = False,
        commit: Annotated[
            bool,
            typer.Option("--commit", help="Apply and commit, with a message the model writes."),
        ] = False,
        as_json: JsonOpt = False,
        think: ThinkOpt = False,
        model: ModelOpt = None,
        ctx: CtxOpt = None,
        threads: ThreadsOpt = None,
        trace: TraceOpt = None,
        verbose: VerboseOpt = False,
        max_steps: StepsOpt = 12,
        max_tokens: TokensOpt = None,
        temperature: TempOpt = None,
        chat_template: TemplateOpt = None,
    ) -> None:
        """Make a change in the repository. Without --yes, print the unified diff
        it would make and change nothing."""
        text = read_request(instruction, "edit instruction")
        root = find_root()
        apply = yes or commit
        names = check_files(root, tuple(files or ()))
        plan = edit_plan(names)
        opts = ModelOptions(
            model,
            ctx,
            threads,
            trace,
            verbose,
            temperature,
            max_tokens,
            max_steps,
            think,
            chat_template,
        )
        renderer = make_renderer(as_json=as_json, show_thoughts=think)
        runtime = open_runtime(
            opts,
            root=root,
            mode=Mode.EDIT,
            renderer=renderer,
            policy=ApprovalPolicy.AUTO_EDIT,
            dry_run=not apply,
            focus_files=names,
            plan=plan,
        )
        try:
            attached = attach_files(
                runtime.toolbox, list(names), int(runtime.engine.n_ctx * MAX_FILE_TOKENS_SHARE * 3)
            )
            result = runtime.agent.run(_message(text, attached), renderer)
            renderer.close()
            changed = result.changed_files
            ok = bool(changed) and result.outcome.value not in ("cancelled", "quit")
            if not apply:
                diff = runtime.toolbox.pending_diff()
                if diff:
                    renderer.diff(diff)
                    renderer.record("dry_run", changed_files=list(changed))
                    if not as_json:
                        print("(dry run: nothing was changed; apply with --yes)", file=sys.stderr)
            elif changed:
                renderer.record("applied", changed_files=list(changed))
                if commit and ok:
                    sha, message = commit_changes(runtime, changed, text)
                    renderer.record("commit", sha=sha, message=message)
                    if not as_json:
                        print(f"committed {sha}: {message.splitlines()[0]}", file=sys.stderr)
            if not changed:
                renderer.warn("no change was made")
        finally:
            runtime.close()
        raise _exit(0 if ok else 1)

    app.command("edit", epilog=EXIT_HELP)(edit)
    app.command("refactor", epilog=EXIT_HELP, help="Same as `edit`.")(edit)
