"""`assistant ask` and `assistant edit` (alias `refactor`): one question or one
change, non-interactive and scriptable. The runtime they run on comes from
`assistant.agent.runtime`.

Exit codes: 0 done, 1 the model could not complete the task, 2 usage error,
3 no usable model."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.agent.fixloop import configured_checks
from assistant.agent.runtime import ModelOptions, Runtime, open_runtime
from assistant.cli.options import JsonOpt, model_options
from assistant.cli.transcript import attached_block
from assistant.cli.verify import (
    ChecksOpt,
    FixRoundsOpt,
    LintOpt,
    TestOpt,
    run_fix_loop,
    still_failing_message,
)
from assistant.errors import AssistantError, UsageError
from assistant.events import TurnFinished
from assistant.llm.engine import StopReason
from assistant.repo.git import GitError, commit_files, git_text, require_repo_root, run_git

if TYPE_CHECKING:  # the agent, tools and renderers load when a command runs
    from assistant.agent.context import Mode
    from assistant.agent.loop import ToolStep
    from assistant.tools.approval import ApprovalPolicy
    from assistant.tools.registry import Toolbox
    from assistant.ui.render import AnyRenderer

EXIT_HELP = (
    "Exit codes: 0 the job is done (ask: a whole answer; edit: its change, nothing cut), "
    "1 it is not (output cut at --max-tokens, stopped by --timeout or Ctrl-C, no answer, "
    "no change, or --test/--lint checks that still fail; what was printed or applied "
    "stays), 2 usage error, 3 no model."
)
# Outcomes after which an edit is not done although it changed files: the
# model was cut mid-answer or mid-call, or the user/--timeout stopped it.
UNFINISHED = frozenset({"truncated", "cancelled", "quit"})
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Stop the model after this many seconds (0: no limit)."),
]
MAX_FILE_TOKENS_SHARE = 0.4  # of the context, for files the user names
BACKSTOP_GRACE_S = 5.0  # after --timeout: the time a cancelled turn has to end by itself


def attach_files(toolbox: Toolbox, files: list[str], max_chars: int) -> str:
    """The named files as the model would read them (which also lets it edit
    them without reading again), for the head of the user's message."""
    parts: list[str] = []
    for name in files:
        result = toolbox.call("read_file", {"path": name})
        if not result.ok:
            if not (toolbox.context.root / name).is_file():
                raise UsageError(no_such_file(name, toolbox.context.root))
            raise UsageError(f"cannot use {name}: {for_user(result.text.removeprefix('error: '))}")
        parts.append(result.text)
    text = "\n\n".join(parts)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n[… files cut to fit the context]"
    return attached_block([text], files) if parts else ""


def no_such_file(name: str, root: Path) -> str:
    """The user's words for a file that is not there (chat's `/add` says the same)."""
    return f"{name}: no such file in {root}"


# The sandbox's refusals are written for the model: a fact, then what to do
# with its tools ("; use list_files or search to find the right path"). The
# user gets the fact.
_MODEL_ADVICE = re.compile(r";\s*(?:use|give) .*$", re.DOTALL)


def for_user(message: str) -> str:
    """A tool refusal without the advice meant for the model."""
    return _MODEL_ADVICE.sub("", message).strip()


def check_files(root: Path, files: tuple[str, ...]) -> tuple[str, ...]:
    """The named files as the shell gives them (relative to the current
    directory, or absolute inside the repository) turned into repository
    paths, and checked against the tools' sandbox before the model loads."""
    from assistant.tools.result import ToolError
    from assistant.tools.sandbox import Sandbox

    sandbox = Sandbox(root)
    cwd = Path.cwd()
    names: list[str] = []
    for name in files:
        given = Path(name).expanduser()
        real = os.path.realpath(given if given.is_absolute() else cwd / given)
        rel = Path(os.path.relpath(real, sandbox.root)).as_posix()
        if rel == ".." or rel.startswith("../"):
            raise UsageError(f"{name} is outside the repository {root}")
        if not os.path.lexists(real):
            raise UsageError(no_such_file(name, root))
        try:
            sandbox.resolve_existing(rel)
        except ToolError as exc:
            raise UsageError(f"cannot use {name}: {for_user(exc.message)}") from None
        names.append(rel)
    return tuple(names)


class WallClock:
    """`--timeout`: cancels the model's turn when the time since the command
    started runs out (the model stops within a token; tools already applied stay).

    A cancel needs the code that waits to look at it; a model that is still
    loading, or a request to a server that will not answer, may not. So a
    backstop ends the command `BACKSTOP_GRACE_S` after the time is up, until
    the model's part is over (`disarm`): `--timeout` bounds the whole wait."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.fired = False
        self._timer: threading.Timer | None = None
        self._backstop: threading.Timer | None = None
        if seconds > 0:
            self._backstop = threading.Timer(seconds + BACKSTOP_GRACE_S, self._end_command)
            self._backstop.daemon = True
            self._backstop.start()

    def _end_command(self) -> None:
        sys.stderr.write(
            f"error: --timeout {self.seconds:g} s reached while waiting for the model "
            "(loading it, connecting, or a request it did not answer); the command ends here\n"
        )
        sys.stderr.flush()
        os._exit(1)  # a thread blocked in a C call cannot be interrupted any other way

    def start(self, cancel: Callable[[], None]) -> None:
        if self.seconds <= 0:
            return
        left = self.seconds - (time.monotonic() - self.started)
        if left <= 0:
            self.fired = True
            raise AssistantError(f"--timeout {self.seconds:g} s reached before the model started")

        def fire() -> None:
            self.fired = True
            cancel()

        self._timer = threading.Timer(left, fire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def disarm(self) -> None:
        """The model's part is over: no backstop for what follows (checks have their own)."""
        self.stop()
        if self._backstop is not None:
            self._backstop.cancel()


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


def commit_changes(
    runtime: Runtime, files: tuple[str, ...], instruction: str, message: str | None = None
) -> tuple[str, str]:
    """Commit exactly the changed files: with `message`, or one the model
    writes (cleaned; built from the instruction when unusable). The commit is
    recorded next to the undo journal so that `assistant undo` can drop it."""
    from assistant import prompts
    from assistant.cli.commits import CommitRecord, clean_commit_message

    root = runtime.root
    added = run_git(root, "add", "--", *files)
    if not added.ok:
        raise GitError(f"git add failed: {added.error}")
    if message is None:
        diff = git_text(root, "diff", "--cached", "--", *files)
        raw = runtime.agent.complete(prompts.load("commit").strip(), diff, 96)
        cut = runtime.engine.last_stats.stop_reason is StopReason.MAX_TOKENS
        message = clean_commit_message(raw, instruction, cut=cut)
    commit_files(root, files, message)
    sha = git_text(root, "rev-parse", "HEAD").strip()
    CommitRecord(sha, files).save(runtime.journal.directory)
    return sha[:7], message


@contextlib.contextmanager
def one_turn(
    opts: ModelOptions,
    root: Path,
    text: str,
    files: tuple[str, ...],
    *,
    as_json: bool,
    mode: Mode,
    policy: ApprovalPolicy,
    timeout: float,
    dry_run: bool = False,
    plan: tuple[ToolStep, ...] = (),
    tool_diffs: bool = True,
    answer_to_stderr: bool = False,
) -> Iterator[tuple[Runtime, AnyRenderer, TurnFinished]]:
    """One request, one turn: the renderer, the runtime, `files` attached to the
    message, the agent's run under `--timeout`; the runtime is closed when the
    block ends."""
    from assistant.ui.render import make_renderer

    clock = WallClock(timeout)
    renderer = make_renderer(
        as_json=as_json,
        show_thoughts=opts.think,
        tool_diffs=tool_diffs,
        answer_to_stderr=answer_to_stderr,
    )
    try:
        runtime = open_runtime(
            opts,
            root=root,
            mode=mode,
            status=renderer.status,
            policy=policy,
            dry_run=dry_run,
            focus_files=files,
            plan=plan,
        )
    except BaseException:
        clock.disarm()
        raise
    try:
        budget = int(runtime.engine.n_ctx * MAX_FILE_TOKENS_SHARE * 3)
        attached = attach_files(runtime.toolbox, list(files), budget)
        clock.start(runtime.agent.cancel.cancel)
        result = runtime.agent.run(_message(text, attached), renderer)
        clock.disarm()
        renderer.close()
        if clock.fired:
            renderer.warn(f"stopped: --timeout {timeout:g} s reached")
        yield runtime, renderer, result
    finally:
        clock.disarm()
        runtime.close()


# ---------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    """Add `ask`, `edit` and `refactor` to `app`."""

    @app.command("ask", epilog=EXIT_HELP)
    @model_options
    def ask(
        question: Annotated[
            str | None, typer.Argument(help="The question ('-' reads it from stdin).")
        ] = None,
        files: Annotated[
            list[str] | None,
            typer.Option("--files", "-f", help="Files to include with the question."),
        ] = None,
        as_json: JsonOpt = False,
        timeout: TimeoutOpt = 0.0,
        *,
        opts: ModelOptions,
    ) -> None:
        """Answer a question about this repository with read-only tools."""
        from assistant.agent.context import Mode
        from assistant.tools.approval import ApprovalPolicy

        text = read_request(question, "ask question")
        root = require_repo_root()
        names = check_files(root, tuple(files or ()))
        with one_turn(
            opts,
            root,
            text,
            names,
            as_json=as_json,
            mode=Mode.ASK,
            policy=ApprovalPolicy.READ_ONLY,
            timeout=timeout,
        ) as (_runtime, _renderer, result):
            pass
        raise _exit(0 if result.outcome.ok else 1)

    @model_options
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
        message: Annotated[
            str | None,
            typer.Option(
                "--message", help="Commit with this message (implies --commit; no model message)."
            ),
        ] = None,
        as_json: JsonOpt = False,
        timeout: TimeoutOpt = 0.0,
        test: TestOpt = None,
        lint: LintOpt = None,
        checks: ChecksOpt = False,
        fix_rounds: FixRoundsOpt = None,
        *,
        opts: ModelOptions,
    ) -> None:
        """Make a change in the repository. Without --yes, print the unified diff
        it would make and change nothing. With --test / --lint (or --checks),
        run them after the change and let the model fix what fails."""
        from assistant.agent.context import Mode
        from assistant.agent.loop import edit_plan
        from assistant.tools.approval import ApprovalPolicy

        text = read_request(instruction, "edit instruction")
        root = require_repo_root()
        if message is not None and not message.strip():
            raise UsageError("--message is empty")
        commit = commit or message is not None
        apply = yes or commit
        names = check_files(root, tuple(files or ()))
        plan = edit_plan(names)
        with one_turn(
            opts,
            root,
            text,
            names,
            as_json=as_json,
            mode=Mode.EDIT,
            policy=ApprovalPolicy.AUTO_EDIT,
            timeout=timeout,
            dry_run=not apply,
            plan=plan,
            tool_diffs=apply,
            # stdout is the diff alone (README): a patch to redirect or pipe.
            answer_to_stderr=True,
        ) as (runtime, renderer, result):
            changed = result.changed_files
            # The rule `ask` follows too (README, "Exit codes"): 0 when the job is
            # done; output cut at --max-tokens or a stopped turn is not done.
            ok = bool(changed) and result.outcome.value not in UNFINISHED
            settings = runtime.settings
            to_run = configured_checks(
                settings, test=test, lint=lint, use_config=checks or settings.auto_test
            )
            if to_run and not apply:
                renderer.warn("checks run only when the change is applied (--yes)")
            elif to_run and ok:
                rounds = settings.fix_rounds if fix_rounds is None else fix_rounds
                report = run_fix_loop(
                    runtime, renderer, to_run, changed, rounds=rounds, as_json=as_json, plan=plan
                )
                changed = tuple(dict.fromkeys((*changed, *report.changed_files)))
                renderer.record(
                    "checks", passed=report.passed, rounds=report.rounds, undo=len(runtime.journal)
                )
                if not report.passed:
                    ok = False
                    renderer.warn(still_failing_message(report, len(runtime.journal)))
            if not apply:
                diff = runtime.toolbox.pending_diff()
                if diff:
                    # The whole diff once, on stdout (a patch you can redirect);
                    # the per-call results above carry no diff in a dry run.
                    renderer.diff(diff)
                    renderer.record("dry_run", changed_files=list(changed))
                    if not as_json:
                        print("(dry run: nothing was changed; apply with --yes)", file=sys.stderr)
            elif changed:
                renderer.record("applied", changed_files=list(changed))
                if not ok:
                    renderer.warn(
                        "the change was applied but the model did not finish; check it "
                        "(`assistant undo` reverts it)" + ("; not committed" if commit else "")
                    )
                elif commit:
                    sha, msg = commit_changes(runtime, changed, text, message)
                    renderer.record("commit", sha=sha, message=msg)
                    if not as_json:
                        print(f"committed {sha}: {msg.splitlines()[0]}", file=sys.stderr)
            if not changed:
                renderer.warn("no change was made")
        raise _exit(0 if ok else 1)

    app.command("edit", epilog=EXIT_HELP)(edit)
    app.command("refactor", epilog=EXIT_HELP, help="Same as `edit`.")(edit)
