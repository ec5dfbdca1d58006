"""`assistant tool` and `assistant undo`.

`assistant tool NAME 'JSON'` runs one tool exactly as the model would call it: same
sandbox, same checks, same result text (printed to stdout; the diff of a change goes
to stderr). Like every one-shot command it is a dry run unless `--yes` is given.
Calls share one persistent "cli" session per repository, so `read_file` followed by
`edit_file` works across invocations just as it does within a chat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.errors import AssistantError, UsageError
from assistant.repo.git import require_repo_root
from assistant.terminal import print_diff

CLI_SESSION = "cli"
READS_FILE = "reads.json"


def _fail(exc: AssistantError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(exc.exit_code)


def _parse_args(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"the arguments are not valid JSON ({exc.msg} at {exc.pos})") from None
    except RecursionError:
        raise UsageError("the arguments are nested too deeply to parse") from None
    if not isinstance(value, dict):
        raise UsageError('the arguments must be a JSON object, e.g. \'{"path": "README.md"}\'')
    return value


def register(app: typer.Typer) -> None:
    """Add the `tool` and `undo` commands to `app`."""

    @app.command("tool")
    def tool_command(
        name: Annotated[str | None, typer.Argument(help="tool name, e.g. read_file")] = None,
        arguments: Annotated[
            str, typer.Argument(help='JSON object of arguments, e.g. \'{"path": "a.py"}\'')
        ] = "{}",
        yes: Annotated[bool, typer.Option("--yes", "-y", help="apply changes")] = False,
        ask: Annotated[
            bool, typer.Option("--ask", help="show each change and ask before applying it")
        ] = False,
        list_tools: Annotated[
            bool, typer.Option("--list", help="print the tool declarations as JSON")
        ] = False,
        allow_commands: Annotated[
            bool, typer.Option("--allow-commands", help="enable run_command")
        ] = False,
        read_only: Annotated[
            bool, typer.Option("--read-only", help="offer only the tools that change nothing")
        ] = False,
        allow_protected: Annotated[
            bool,
            typer.Option(
                "--allow-protected",
                help="let --yes change the assistant's own config files "
                "(.assistant.toml, .assistantignore, AGENTS.md, .assistant/, "
                ".pre-commit-config.yaml)",
            ),
        ] = False,
    ) -> None:
        """Run one tool as the model would call it (a dry run unless --yes)."""
        from assistant.tools.approval import (
            ApprovalDecision,
            ApprovalPolicy,
            Approver,
            ConsoleApprover,
            FixedApprover,
        )
        from assistant.tools.journal import UndoJournal
        from assistant.tools.registry import TOOLS_BY_NAME, Toolbox

        try:
            root = require_repo_root()
            if name and name not in TOOLS_BY_NAME:  # a typo is a usage error (exit 2)
                known = ", ".join(sorted(TOOLS_BY_NAME))
                raise UsageError(f"unknown tool {name!r}; the tools are: {known}")
            if yes and ask:
                raise UsageError("--yes and --ask do not go together; pick one")
            if read_only:
                policy = ApprovalPolicy.READ_ONLY
            elif yes:
                policy = ApprovalPolicy.AUTO_EDIT
            else:
                policy = ApprovalPolicy.ASK
            approver: Approver | None = None
            if yes:
                approver = FixedApprover(ApprovalDecision.YES)
            elif ask:
                approver = ConsoleApprover()
            journal = UndoJournal.for_session(root, CLI_SESSION)
            toolbox = Toolbox(
                root,
                policy,
                approver,
                journal,
                allow_commands=allow_commands,
                dry_run=not (yes or ask),
                state_path=journal.directory / READS_FILE,
                allow_protected=allow_protected,
            )
            if list_tools:
                declarations = [
                    {
                        "name": s.name,
                        "description": s.description,
                        "parameters": s.parameters,
                        "mutates": s.mutates,
                    }
                    for s in toolbox.specs()
                ]
                typer.echo(json.dumps(declarations, indent=2))
                return
            if not name:
                raise UsageError("give a tool name (see `assistant tool --list`)")
            args = _parse_args(arguments)
        except AssistantError as exc:
            raise _fail(exc) from None
        result = toolbox.call(name, args)
        typer.echo(result.text)
        print_diff(result.diff)
        if result.ok and toolbox.dry_run and result.diff:
            typer.echo("dry run: nothing was written; rerun with --yes to apply", err=True)
        raise typer.Exit(0 if result.ok else 1)

    @app.command("undo")
    def undo_command(
        count: Annotated[int, typer.Argument(min=1, help="how many changes to revert")] = 1,
    ) -> None:
        """Revert the last change (or the last N) the assistant made in this repository."""
        from assistant.tools.journal import UndoJournal
        from assistant.tools.registry import Toolbox

        try:
            root = require_repo_root()
            journal = UndoJournal.latest(root)
            if journal is None:
                raise AssistantError("nothing to undo: the assistant has made no changes here")
        except AssistantError as exc:
            raise _fail(exc) from None
        state = journal.directory / READS_FILE
        toolbox = Toolbox(root, journal=journal, state_path=state if state.exists() else None)
        outcomes = toolbox.undo(count)
        failed = False
        for outcome in outcomes:
            if outcome.reverted:
                typer.echo(outcome.message)
            else:
                failed = True
                typer.echo(outcome.message, err=True)
        if len(outcomes) < count and not failed:
            typer.echo(f"({len(outcomes)} of {count} reverted: no earlier changes)", err=True)
        if outcomes and not failed:
            _undo_edit_commit(root, journal.directory, len(journal))
        raise typer.Exit(1 if failed else 0)


def _undo_edit_commit(root: Path, directory: Path, remaining: int) -> None:
    """The changes came from `edit --commit`: drop the commit too once all of
    them are reverted, or say plainly why it stays."""
    from assistant.cli.commits import CommitRecord, undo_commit

    if remaining:
        record = CommitRecord.load(directory)
        if record is not None:
            typer.echo(
                f"commit {record.sha[:7]} stays until all its changes are undone "
                f"(`assistant undo {remaining}` for the rest)",
                err=True,
            )
        return
    result = undo_commit(root, directory)
    if result is not None:
        typer.echo(result[1], err=not result[0])


__all__ = ["register"]
