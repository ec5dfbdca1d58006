"""`assistant chat`: the terminal REPL.

Answers stream as Markdown; each tool call is one status line; edits show as
coloured diffs and (under the default `ask` policy) wait for y/n/always/quit.
Ctrl-C stops the answer and returns to the prompt with the session intact;
Ctrl-D exits. Input history persists across sessions (readline); the session
is saved after every turn and `--resume` continues the last one in this repo."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assistant.agent.checks import CheckCommand, CheckKind
from assistant.agent.fixloop import configured_checks
from assistant.agent.runtime import ModelOptions, Runtime, open_runtime
from assistant.cli.oneshot import EXIT_HELP, attach_files
from assistant.cli.options import model_options
from assistant.cli.verify import run_fix_loop, still_failing_message
from assistant.config import user_data_dir
from assistant.errors import AssistantError, UsageError
from assistant.repo.git import GitError, require_repo_root, run_git

if TYPE_CHECKING:  # the agent, tools and renderers load when `chat` runs
    from assistant.agent.loop import ToolStep
    from assistant.cli.transcript import Recap
    from assistant.tools.approval import ApprovalDecision, ApprovalRequest, Approver
    from assistant.ui.render import AnyRenderer

PROMPT = "> "
CONTINUE_PROMPT = "… "
FENCE = '"""'
HISTORY_LENGTH = 2_000

HELP = """\
Commands:
  /help              this list
  /add FILE…         attach files to your next message (the model can then edit them)
  /drop [FILE…]      un-attach files (all when none named)
  /files             list attached files
  /map               show the repository map
  /outline PATH      a file's definitions: kind, qualified name, lines, signature
  /diff              show uncommitted changes (git diff)
  /test [CMD]        run the tests (CMD or test_command); on failure the model fixes the code
  /lint [CMD]        run the linter (CMD or lint_command) on the changed files, same loop
  /edit TEXT         make this change now: the model must edit (the attached files, if any)
  /rename OLD NEW    rename a symbol across the repo by scope rules (no model; see `assistant rename --help`)
  /undo [N]          revert the last N changes the assistant made (default 1)
  /clear             start the conversation over
  /think [on|off|show|hide]  model thinking on/off (no argument: toggle); show/hide thoughts
  /tokens            context use
  /model             model, context size and protocol
  /save [FILE.md]    save the session now; with FILE, also write a Markdown transcript
  /exit              quit (Ctrl-D also quits; Ctrl-C stops an answer)
Multi-line input: end a line with \\ to continue it, or wrap the text in \"\"\" lines."""


def history_file() -> Path:
    return user_data_dir() / "chat_history"


def setup_readline() -> Callable[[], None]:
    """Line editing and persistent input history; returns the saver."""
    try:
        import readline
    except ImportError:  # not on every platform
        return lambda: None
    path = history_file()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(path)

    return save


def read_message(read: Callable[[str], str] = input) -> str:
    """One message: a line; lines ending in \\ continue; a \"\"\" line opens a
    block closed by another. Raises EOFError (Ctrl-D) and KeyboardInterrupt."""
    line = read(PROMPT)
    if line.strip() == FENCE:
        lines: list[str] = []
        while (line := read(CONTINUE_PROMPT)).strip() != FENCE:
            lines.append(line)
        return "\n".join(lines)
    lines = []
    while line.endswith("\\"):
        lines.append(line[:-1])
        line = read(CONTINUE_PROMPT)
    lines.append(line)
    return "\n".join(lines)


@dataclass
class PausingApprover:
    """Stops the spinner and any live output before asking, so the diff and the
    question are not drawn over."""

    renderer: AnyRenderer
    inner: Approver

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        self.renderer.close()
        decision = self.inner.approve(request)
        if request.diff:  # shown with the question: not again under the ✓ line
            self.renderer.diff_shown(request.diff)
        return decision


@dataclass
class ChatApp:
    runtime: Runtime
    renderer: AnyRenderer
    attached: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # told to the model with the next message
    changed: list[str] = field(default_factory=list)  # files the model changed this session

    @property
    def session_file(self) -> Path:
        from assistant.agent.session import SESSION_FILE

        return self.runtime.journal.directory / SESSION_FILE

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.runtime.session.save(self.session_file)

    # ------------------------------------------------------------ turns

    def send(self, text: str, plan: tuple[ToolStep, ...] | None = None) -> None:
        parts = [f"({note})" for note in self.notes]
        if self.attached:
            budget = int(self.runtime.session.max_user_tokens() * 2)
            try:
                parts.append(attach_files(self.runtime.toolbox, self.attached, budget))
            except UsageError as exc:
                self.renderer.warn(exc.message)
                return
        parts.append(text)
        session = self.runtime.session
        mark, turns, compactions = len(session.segments), session.turns, session.compactions
        attached, notes = self.attached, self.notes
        self.attached, self.notes = [], []
        try:
            result = self.runtime.agent.run("\n\n".join(parts), self.renderer, plan)
        except KeyboardInterrupt:
            # Ctrl-C a moment before the agent took SIGINT over: the turn never
            # started, so it gives its attachments back.
            if len(session.segments) == mark and session.turns == turns:
                self.attached, self.notes = attached, notes
            raise
        self._changed(result.changed_files)
        if result.outcome.value == "cancelled" and not result.changed_files:
            # A stopped turn leaves nothing behind: the attachments wait for the
            # next message and the message itself is not in the history (it is
            # in the input history: press ↑ to send it again).
            self.attached, self.notes = attached, notes
            if session.compactions == compactions and len(session.segments) >= mark:
                session.segments = session.segments[:mark]
                session.turns = turns
                session.rebuild()
                self.renderer.info("(not kept in the conversation; ↑ brings the message back)")
        self.save()
        settings = self.runtime.settings
        if result.changed_files and settings.auto_test and result.outcome.ok:
            self.check(configured_checks(settings, use_config=True))

    def _changed(self, files: tuple[str, ...] | list[str]) -> None:
        self.changed.extend(f for f in files if f not in self.changed)

    def check(self, checks: list[CheckCommand]) -> None:
        """Run the checks on this session's changes; on failure let the model fix."""
        if not checks:
            return
        report = run_fix_loop(
            self.runtime,
            self.renderer,
            checks,
            self.changed,
            rounds=self.runtime.settings.fix_rounds,
            as_json=False,
        )
        self._changed(report.changed_files)
        self.save()
        if not report.results:
            self.renderer.info(
                "nothing to check: {files} needs changed files, and none changed yet"
            )
        elif not report.passed and not report.stopped:
            self.renderer.warn(still_failing_message(report, len(self.runtime.journal)))

    def _check_command(self, kind: CheckKind, args: list[str]) -> None:
        given = " ".join(args) or None
        settings = self.runtime.settings
        checks = configured_checks(
            settings,
            test=given if kind is CheckKind.TEST else None,
            lint=given if kind is CheckKind.LINT else None,
            use_config=given is None,
        )
        checks = [c for c in checks if c.kind is kind]
        if not checks:
            self.renderer.warn(
                f"no {kind.value} command: /{kind.value} CMD, or set {kind.value}_command "
                "in your config (`assistant config detect` proposes one)"
            )
            return
        self.check(checks)

    def cmd_test(self, args: list[str]) -> None:
        self._check_command(CheckKind.TEST, args)

    def cmd_lint(self, args: list[str]) -> None:
        self._check_command(CheckKind.LINT, args)

    # ------------------------------------------------------------ slash commands

    def command(self, line: str) -> bool:
        """Run a slash command; False means exit."""
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        name, args = words[0].lower(), words[1:]
        handler = {
            "/help": self.cmd_help,
            "/add": self.cmd_add,
            "/drop": self.cmd_drop,
            "/files": self.cmd_files,
            "/map": self.cmd_map,
            "/outline": self.cmd_outline,
            "/diff": self.cmd_diff,
            "/test": self.cmd_test,
            "/lint": self.cmd_lint,
            "/rename": self.cmd_rename,
            "/undo": self.cmd_undo,
            "/edit": self.cmd_edit,
            "/clear": self.cmd_clear,
            "/think": self.cmd_think,
            "/tokens": self.cmd_tokens,
            "/model": self.cmd_model,
            "/save": self.cmd_save,
        }.get(name)
        if name in ("/exit", "/quit"):
            return False
        if handler is None:
            self.renderer.warn(f"unknown command {name}; /help lists them")
            return True
        handler(args)
        return True

    def cmd_help(self, args: list[str]) -> None:
        self.renderer.info(HELP)

    def cmd_add(self, args: list[str]) -> None:
        if not args:
            self.renderer.warn("usage: /add FILE…")
            return
        root = self.runtime.root
        for name in args:
            if not (root / name).is_file():
                self.renderer.warn(f"{name}: no such file in {root}")
            elif name not in self.attached:
                self.attached.append(name)
        self.cmd_files([])

    def cmd_drop(self, args: list[str]) -> None:
        self.attached = [f for f in self.attached if args and f not in args]
        self.cmd_files([])

    def cmd_files(self, args: list[str]) -> None:
        if self.attached:
            self.renderer.info("attached to your next message: " + ", ".join(self.attached))
        else:
            self.renderer.info("no files attached")

    def cmd_map(self, args: list[str]) -> None:
        from assistant.agent.context import repo_map_text

        settings = self.runtime.settings
        text = repo_map_text(self.runtime.root, settings.map_tokens, self.attached)
        self.renderer.info(text or "(no definitions found)")

    def cmd_outline(self, args: list[str]) -> None:
        """The `outline` tool's answer, for the user; the model does not see it."""
        if len(args) != 1:
            self.renderer.warn("usage: /outline PATH")
            return
        result = self.runtime.toolbox.call("outline", {"path": args[0]})
        (self.renderer.info if result.ok else self.renderer.warn)(result.text)

    def cmd_diff(self, args: list[str]) -> None:
        try:
            result = run_git(self.runtime.root, "diff", "--no-ext-diff", *args)
        except GitError as exc:
            self.renderer.warn(str(exc))
            return
        if result.stdout.strip():
            self.renderer.diff(result.stdout.decode("utf-8", "replace"))
        else:
            self.renderer.info(result.error if not result.ok else "no uncommitted changes")

    def cmd_edit(self, args: list[str]) -> None:
        if not args:
            self.renderer.warn("usage: /edit WHAT TO CHANGE")
            return
        from assistant.agent.loop import edit_plan

        self.send(" ".join(args), edit_plan(self.attached))

    def cmd_rename(self, args: list[str]) -> None:
        """`assistant rename` in chat: the chat's approval policy, its journal (one
        `/undo` reverts it), and a note so the model re-reads the renamed files."""
        if len(args) < 2:
            self.renderer.warn("usage: /rename OLD NEW [PATH…]")
            return
        from assistant.errors import AssistantError
        from assistant.refactor.apply import apply_plan
        from assistant.refactor.rename import plan_rename
        from assistant.tools.approval import ApprovalPolicy, ApprovalRequest
        from assistant.tools.result import ToolError

        context = self.runtime.toolbox.context
        try:
            plan = plan_rename(self.runtime.root, args[0], args[1], args[2:])
            for note in plan.notes:
                self.renderer.warn(note)
            if not plan.changes:
                self.renderer.info(f"{plan.summary()}; nothing to change")
                return
            request = ApprovalRequest(tool="rename", summary=plan.summary(), diff=plan.diff())
            asked = context.policy is not ApprovalPolicy.AUTO_EDIT
            context.approve(request)
            written = apply_plan(plan, context.journal)
            if not asked:  # auto-edit applies without asking, and shows what it did
                self.renderer.diff_shown(request.diff)
        except ToolError as exc:  # declined, or read-only
            self.renderer.warn(exc.message)
            return
        except AssistantError as exc:
            self.renderer.warn(f"error: {exc.message}")
            return
        for rel in written:
            context.forget(rel)
        self.renderer.info(f"renamed: {plan.summary()} (/undo reverts it)")
        self.notes.append(
            f"the user renamed {plan.old} to {plan.new} in "
            + ", ".join(written)
            + "; read them again"
        )

    def cmd_undo(self, args: list[str]) -> None:
        try:
            count = int(args[0]) if args else 1
        except ValueError:
            self.renderer.warn("usage: /undo [N]")
            return
        outcomes = self.runtime.toolbox.undo(count)
        if not outcomes:
            self.renderer.info("nothing to undo")
            return
        for outcome in outcomes:
            (self.renderer.info if outcome.reverted else self.renderer.warn)(outcome.message)
        reverted = [o.path for o in outcomes if o.reverted]
        if reverted:
            self.notes.append(
                "the user undid your changes to " + ", ".join(reverted) + "; read them again"
            )

    def cmd_clear(self, args: list[str]) -> None:
        self.runtime.session.clear()
        self.notes = []
        self.save()
        self.renderer.info("conversation cleared")

    def cmd_think(self, args: list[str]) -> None:
        session = self.runtime.session
        arg = args[0].lower() if args else ""
        if arg in ("show", "hide"):
            from assistant.ui.render import RichRenderer

            if isinstance(self.renderer, RichRenderer):
                self.renderer.show_thoughts = arg == "show"
            self.renderer.info(f"thoughts {'shown' if arg == 'show' else 'hidden'}")
            return
        think = {"on": True, "off": False}.get(arg, not session.think)
        session.set_think(think)
        self.renderer.info(f"thinking {'on' if think else 'off'}")

    def cmd_tokens(self, args: list[str]) -> None:
        usage = self.runtime.session.usage()
        compactions = self.runtime.session.compactions
        # Short lines: one long line wrapped mid-word at 120 columns.
        self.renderer.info(
            f"{usage['used']:,} of {usage['context']:,} tokens used ({usage['free']:,} free)\n"
            f"  system and tools {usage['prefix']:,} · your messages {usage['user']:,}\n"
            f"  model output {usage['model']:,} · tool results {usage['tools']:,}\n"
            f"  {compactions} compaction{'s' if compactions != 1 else ''}"
        )

    def cmd_model(self, args: list[str]) -> None:
        engine = self.runtime.engine
        self.renderer.info(
            f"model {engine.description} · protocol {self.runtime.session.protocol.name}"
        )
        if args:
            self.renderer.warn(
                "switching models inside a chat is not supported; restart with --model"
            )

    def cmd_save(self, args: list[str]) -> None:
        self.save()
        self.renderer.info(f"session saved: {self.session_file}")
        if args:
            from assistant.cli.transcript import markdown_transcript

            path = Path(args[0]).expanduser()
            session = self.runtime.session
            text = markdown_transcript(
                session.segments[1:], self.runtime.engine.name, str(self.runtime.root)
            )
            path.write_text(text, "utf-8")
            self.renderer.info(f"transcript written: {path}")

    # ------------------------------------------------------------ the loop

    def loop(self, greeting: str = "", recap: Recap | None = None) -> None:
        save_history = setup_readline()
        self.renderer.info(
            f"assistant chat in {self.runtime.root} — /help for commands, Ctrl-D to quit"
        )
        if greeting:
            self.renderer.info(greeting)
        if recap is not None:
            recap.show(self.renderer, RECAP_CHARS)
        try:
            while True:
                try:
                    text = read_message()
                except EOFError:
                    self.renderer.info("")
                    self.renderer.info(
                        "bye: the session is saved; `assistant chat --resume` continues it"
                    )
                    break
                except KeyboardInterrupt:
                    self.renderer.info("^C")
                    continue
                if not text.strip():
                    continue
                try:
                    if text.strip().startswith("/"):
                        if not self.command(text.strip()):
                            break
                        continue
                    self.send(text)
                except KeyboardInterrupt:
                    # Ctrl-C outside the model's own handling of it (attaching
                    # files, right before or after a turn, a /test run): this
                    # stops, the chat stays (it used to exit with "interrupted").
                    self.renderer.close()
                    self.renderer.info("")  # off the line where the terminal echoed ^C
                    self.renderer.warn("stopped")
                    self.save()
                except AssistantError as exc:
                    # A server that went away, a file that vanished: this turn
                    # fails, the chat and its saved session stay.
                    self.renderer.warn(exc.message)
                    self.save()
        finally:
            save_history()
            self.save()


RECAP_CHARS = 600


def resume_recap(segments: list[Any]) -> Recap | None:
    """The last exchange, so a resumed chat shows where it left off."""
    from assistant.cli.transcript import recap

    return recap(segments)


def register(app: typer.Typer) -> None:
    """Add `chat` to `app`."""

    @app.command("chat", epilog=EXIT_HELP)
    @model_options
    def chat(
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue the last session in this repository.")
        ] = False,
        approval: Annotated[
            str | None,
            typer.Option("--approval", help="ask (default), auto-edit or read-only."),
        ] = None,
        *,
        opts: ModelOptions,
    ) -> None:
        """Chat about this repository; the model reads files and proposes edits."""
        from assistant.agent.context import Mode
        from assistant.agent.session import DamagedSession, latest_session_file
        from assistant.tools.approval import ApprovalPolicy, ConsoleApprover
        from assistant.tools.journal import UndoJournal
        from assistant.ui.render import make_renderer

        root = require_repo_root()
        try:
            policy = ApprovalPolicy(approval) if approval else None
        except ValueError:
            raise UsageError("--approval must be ask, auto-edit or read-only") from None
        if policy is None:
            from assistant.config import load_settings

            policy = ApprovalPolicy(load_settings(root).approval)
        saved = latest_session_file(UndoJournal.sessions_dir(root)) if resume else None
        if resume and saved is None:
            raise UsageError("no saved chat in this repository to resume")
        renderer = make_renderer(as_json=False, show_thoughts=True)
        runtime = open_runtime(
            opts,
            root=root,
            mode=Mode.CHAT,
            status=renderer.status,
            policy=policy,
            approver=PausingApprover(renderer, ConsoleApprover()),
            session_id=saved.parent.name if saved else None,
        )
        try:
            greeting, recap = "", None
            if saved is not None:
                try:
                    kept = runtime.session.restore_file(saved)
                except DamagedSession as exc:
                    greeting = str(exc)
                else:
                    how = "" if kept else " (another model: earlier turns summarized)"
                    greeting = f"resumed {runtime.session.turns} turn(s){how}"
                    recap = resume_recap(runtime.session.segments[1:])
            ChatApp(runtime, renderer).loop(greeting, recap)
        finally:
            runtime.close()
