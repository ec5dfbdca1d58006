"""`assistant ask` and `assistant edit` (alias `refactor`): one question or one
change, non-interactive and scriptable. The runtime they run on comes from
`assistant.agent.runtime`.

Exit codes: 0 done, 1 the model could not complete the task, 2 usage error,
3 no usable model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.agent.context import Mode
from assistant.agent.loop import edit_plan
from assistant.agent.runtime import ModelOptions, Runtime, open_runtime
from assistant.cli.options import JsonOpt, model_options
from assistant.errors import AssistantError, UsageError
from assistant.repo.git import git_env
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.registry import Toolbox
from assistant.ui.render import make_renderer

EXIT_HELP = (
    "Exit codes: 0 done, 1 the model could not complete the task, 2 usage error, 3 no model."
)
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


def commit_changes(runtime: Runtime, files: tuple[str, ...], instruction: str) -> tuple[str, str]:
    """Commit exactly the changed files with a message the model writes."""
    from assistant import prompts

    root = runtime.root
    subprocess.run(
        ["git", "add", "--", *files], cwd=root, env=git_env(), check=True, capture_output=True
    )
    diff = subprocess.run(
        ["git", "diff", "--cached", "--", *files],
        cwd=root,
        env=git_env(),
        capture_output=True,
        text=True,
    ).stdout
    message = runtime.agent.complete(prompts.load("commit").strip(), diff, 96)
    message = message.strip().strip("`").strip()
    if not message or len(message.splitlines()[0]) > 100:
        message = f"Edit: {instruction.splitlines()[0][:60]}"
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
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=root,
        env=git_env(),
        capture_output=True,
        text=True,
    ).stdout.strip()
    return sha, message


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
        *,
        opts: ModelOptions,
    ) -> None:
        """Answer a question about this repository with read-only tools."""
        text = read_request(question, "ask question")
        root = find_root()
        check_files(root, tuple(files or ()))
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
            result = runtime.agent.run(_message(text, attached), renderer)
            renderer.close()
        finally:
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
        as_json: JsonOpt = False,
        *,
        opts: ModelOptions,
    ) -> None:
        """Make a change in the repository. Without --yes, print the unified diff
        it would make and change nothing."""
        text = read_request(instruction, "edit instruction")
        root = find_root()
        apply = yes or commit
        names = check_files(root, tuple(files or ()))
        plan = edit_plan(names)
        renderer = make_renderer(as_json=as_json, show_thoughts=opts.think)
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
