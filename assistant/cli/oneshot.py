"""`assistant ask` and `assistant edit` (alias `refactor`): one question or one
change, non-interactive and scriptable. The runtime they run on comes from
`assistant.agent.runtime`.

Exit codes: 0 done, 1 the model could not complete the task, 2 usage error,
3 no usable model."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.agent.runtime import ModelOptions, Runtime, open_runtime
from assistant.cli.options import JsonOpt, model_options
from assistant.errors import AssistantError, UsageError
from assistant.repo.git import git_env

if TYPE_CHECKING:  # the agent, tools and renderers load when a command runs
    from assistant.tools.registry import Toolbox

EXIT_HELP = (
    "Exit codes: 0 the job is done (ask: a whole answer; edit: its change, nothing cut), "
    "1 it is not (output cut at --max-tokens, stopped by --timeout or Ctrl-C, no answer, "
    "no change; what was printed or applied stays), 2 usage error, 3 no model."
)
# Outcomes after which an edit is not done although it changed files: the
# model was cut mid-answer or mid-call, or the user/--timeout stopped it.
UNFINISHED = frozenset({"truncated", "cancelled", "quit"})
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Stop the model after this many seconds (0: no limit)."),
]
MAX_FILE_TOKENS_SHARE = 0.4  # of the context, for files the user names


def find_root() -> Path:
    from assistant.repo.git import require_repo_root

    return require_repo_root(Path.cwd())


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
        try:
            sandbox.resolve_existing(rel)
        except ToolError as exc:
            raise UsageError(f"cannot use {name}: {exc.message}") from None
        names.append(rel)
    return tuple(names)


class WallClock:
    """`--timeout`: cancels the model's turn when the time since the command
    started runs out (the model stops within a token; tools already applied stay)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.fired = False
        self._timer: threading.Timer | None = None

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
    subprocess.run(
        ["git", "add", "--", *files], cwd=root, env=git_env(), check=True, capture_output=True
    )
    if message is None:
        diff = subprocess.run(
            ["git", "diff", "--cached", "--", *files],
            cwd=root,
            env=git_env(),
            capture_output=True,
            text=True,
        ).stdout
        raw = runtime.agent.complete(prompts.load("commit").strip(), diff, 96)
        cut = runtime.engine.last_stats.stop_reason == "max_tokens"
        message = clean_commit_message(raw, instruction, cut=cut)
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", message, "--", *files],
        cwd=root,
        env=git_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise AssistantError(f"git commit failed: {proc.stderr.strip() or proc.stdout.strip()}")
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=root,
        env=git_env(),
        capture_output=True,
        text=True,
    ).stdout.strip()
    CommitRecord(sha, files).save(runtime.journal.directory)
    return sha[:7], message


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
        from assistant.ui.render import make_renderer

        clock = WallClock(timeout)
        text = read_request(question, "ask question")
        root = find_root()
        files = list(check_files(root, tuple(files or ())))
        renderer = make_renderer(as_json=as_json, show_thoughts=opts.think)
        runtime = open_runtime(
            opts,
            root=root,
            mode=Mode.ASK,
            status=renderer.status,
            policy=ApprovalPolicy.READ_ONLY,
            focus_files=tuple(files or ()),
        )
        try:
            attached = attach_files(
                runtime.toolbox,
                list(files or ()),
                int(runtime.engine.n_ctx * MAX_FILE_TOKENS_SHARE * 3),
            )
            clock.start(runtime.agent.cancel.cancel)
            result = runtime.agent.run(_message(text, attached), renderer)
            clock.stop()
            renderer.close()
            if clock.fired:
                renderer.warn(f"stopped: --timeout {timeout:g} s reached")
        finally:
            clock.stop()
            runtime.close()
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
        *,
        opts: ModelOptions,
    ) -> None:
        """Make a change in the repository. Without --yes, print the unified diff
        it would make and change nothing."""
        from assistant.agent.context import Mode
        from assistant.agent.loop import edit_plan
        from assistant.tools.approval import ApprovalPolicy
        from assistant.ui.render import make_renderer

        clock = WallClock(timeout)
        text = read_request(instruction, "edit instruction")
        root = find_root()
        if message is not None and not message.strip():
            raise UsageError("--message is empty")
        commit = commit or message is not None
        apply = yes or commit
        names = check_files(root, tuple(files or ()))
        plan = edit_plan(names)
        renderer = make_renderer(as_json=as_json, show_thoughts=opts.think, tool_diffs=apply)
        runtime = open_runtime(
            opts,
            root=root,
            mode=Mode.EDIT,
            status=renderer.status,
            policy=ApprovalPolicy.AUTO_EDIT,
            dry_run=not apply,
            focus_files=names,
            plan=plan,
        )
        try:
            attached = attach_files(
                runtime.toolbox, list(names), int(runtime.engine.n_ctx * MAX_FILE_TOKENS_SHARE * 3)
            )
            clock.start(runtime.agent.cancel.cancel)
            result = runtime.agent.run(_message(text, attached), renderer)
            clock.stop()
            renderer.close()
            if clock.fired:
                renderer.warn(f"stopped: --timeout {timeout:g} s reached")
            changed = result.changed_files
            # The rule `ask` follows too (README, "Exit codes"): 0 when the job is
            # done; output cut at --max-tokens or a stopped turn is not done.
            ok = bool(changed) and result.outcome.value not in UNFINISHED
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
        finally:
            clock.stop()
            runtime.close()
        raise _exit(0 if ok else 1)

    app.command("edit", epilog=EXIT_HELP)(edit)
    app.command("refactor", epilog=EXIT_HELP, help="Same as `edit`.")(edit)
