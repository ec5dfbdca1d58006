"""`assistant rename OLD NEW [PATH…]`: rename a symbol across the repository by its
scope rules, with no model. One approval, one journal entry, one `undo`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.errors import AssistantError, UsageError
from assistant.repo.git import require_repo_root
from assistant.terminal import print_diff

RENAME_HELP = """Rename a function, class, method or variable across the repository, with no model.

OLD is NAME, Qual.NAME (Cart.total), FILE::Qual.NAME (shop/cart.py::Cart.total, or
shop/cart.py::helper.count for a local of helper) or FILE:LINE[:COL] (the name at
that position; without COL, the one defined on that line). A name that means
several things is refused with the candidates listed. PATHs narrow where the
definition is looked for; its uses are renamed everywhere.

Python: by scope rules (locals, parameters and keyword arguments, globals and
nonlocals, classes and their subclasses, `import m` / `from m import n` / `… as x` /
star imports / `m.n`); strings, comments and docstrings are left alone (f-string
expressions are code and are renamed). Not handled: getattr/setattr and other
dynamic access, names in strings (__all__ entries included), attributes of
objects whose class cannot be seen statically (listed, not renamed).

JavaScript/TypeScript, Go, Rust: the definition must be one the repo map tags;
every identifier of that name in files of the same language outside strings
and comments is renamed, except inside functions that declare a local of that
name. No type analysis: a property or field of another type with the same
name is renamed too; dynamic access (obj["name"], reflection), re-exports by
string and macros are not handled. Read the diff.

Without --yes the diff is shown and the rename asked about (nothing is written
when nobody can answer). Exit codes: 0 renamed (or previewed), 1 refused (NEW
clashes or is a keyword / not an identifier, OLD not found or ambiguous), 2
usage error, 3 not applied (declined, or no terminal and no --yes), 4 a write
failed (files already written were restored)."""


def _repo_relative(root: Path, path: str) -> str:
    full = (Path.cwd() / path).resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{path} is outside the repository {root}") from None


def _spec_relative(root: Path, old: str) -> str:
    """FILE parts of OLD are given relative to the current directory."""
    from assistant.refactor.target import parse_target

    spec = parse_target(old)
    if not spec.path:
        return old
    rel = _repo_relative(root, spec.path)
    return rel + old[len(spec.path) :]


def register(app: typer.Typer) -> None:
    @app.command("rename", help=RENAME_HELP)
    def rename_command(
        old: Annotated[
            str, typer.Argument(help="what to rename: NAME, FILE::Qual.NAME or FILE:LINE[:COL]")
        ],
        new: Annotated[str, typer.Argument(help="the new name")],
        paths: Annotated[
            list[str] | None,
            typer.Argument(help="files or directories where OLD is defined (narrows a name)"),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="show the diff and change nothing")
        ] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="apply without asking")] = False,
        as_json: Annotated[
            bool,
            typer.Option(
                "--json", help="print the plan (target, files, lines, notes) as JSON on stdout"
            ),
        ] = False,
    ) -> None:
        from assistant.refactor.errors import RenameNotApplied
        from assistant.refactor.rename import plan_rename

        try:
            root = require_repo_root()
            if dry_run and yes:
                raise UsageError("--dry-run and --yes do not go together; pick one")
            rels = [_repo_relative(root, p) for p in paths or []]
            plan = plan_rename(root, _spec_relative(root, old), new, rels)
            for note in plan.notes:
                typer.echo(f"note: {note}", err=True)
            if as_json:
                sys.stdout.write(plan.dumps() + "\n")
            if not plan.changes:
                typer.echo(f"{plan.summary()}; nothing to change", err=True)
                raise typer.Exit(0)
            if dry_run or (not yes and not sys.stdin.isatty()):
                if not as_json:
                    typer.echo(plan.summary())
                print_diff(plan.diff())
                if dry_run:
                    typer.echo("dry run: nothing was written", err=True)
                    raise typer.Exit(0)
                raise RenameNotApplied(
                    "nothing was written: no terminal to ask; rerun with --yes to apply"
                )
            if not yes:
                _ask(plan)
            from assistant.refactor.apply import apply_plan
            from assistant.tools.journal import UndoJournal

            journal = UndoJournal.for_session(root, "cli")
            written = apply_plan(plan, journal)
            message = f"renamed: {plan.summary()} ({len(written)} files written; `assistant undo` reverts)"
            typer.echo(message, err=as_json)
        except AssistantError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None


def _ask(plan: object) -> None:
    from assistant.refactor.errors import RenameNotApplied
    from assistant.refactor.rename import RenamePlan
    from assistant.tools.approval import ApprovalDecision, ApprovalRequest, ConsoleApprover

    assert isinstance(plan, RenamePlan)
    request = ApprovalRequest(tool="rename", summary=plan.summary(), diff=plan.diff())
    decision = ConsoleApprover().approve(request)
    if decision not in (ApprovalDecision.YES, ApprovalDecision.ALWAYS):
        raise RenameNotApplied("declined; nothing was changed")


__all__ = ["RENAME_HELP", "register"]
