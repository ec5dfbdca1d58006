"""`assistant hook install|uninstall|status`: the git pre-commit hook that
runs `assistant review --staged` on every commit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.errors import AssistantError
from assistant.review import hook
from assistant.review.gitsource import GitRepo
from assistant.review.report import FailOn


def _repo() -> GitRepo:
    return GitRepo.discover(Path.cwd())


def _print_status(state: hook.HookStatus) -> None:
    typer.echo(f"pre-commit hook: {state.state.value} ({state.path})")
    if state.chained is not None:
        typer.echo(f"chained earlier hook: {state.chained}")
    if state.command:
        typer.echo(f"runs: {state.command}")


def register(app: typer.Typer) -> None:
    hook_app = typer.Typer(help="Manage the git pre-commit hook that reviews staged changes.")

    @hook_app.command("install")
    def install_command(
        fail_on: Annotated[
            FailOn, typer.Option("--fail-on", help="Refuse the commit at or above this severity.")
        ] = FailOn.ERROR,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds per review.")] = 120.0,
        strict: Annotated[
            bool, typer.Option("--strict", help="Refuse the commit when the model fails.")
        ] = False,
        model: Annotated[Path | None, typer.Option("--model", help="GGUF model file.")] = None,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Install even into a shared hooks directory (a global or in-tree core.hooksPath).",
            ),
        ] = False,
    ) -> None:
        """Install the hook (an existing pre-commit hook is kept and runs first)."""
        args = ["--fail-on", fail_on.value, "--timeout", f"{timeout:g}"]
        if strict:
            args.append("--strict")
        if model is not None:
            args += ["--model", str(model.expanduser().resolve())]
        try:
            state = hook.install(_repo(), args, force=force)
        except AssistantError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        _print_status(state)

    @hook_app.command("uninstall")
    def uninstall_command() -> None:
        """Remove the hook and restore the one it chained."""
        try:
            state = hook.uninstall(_repo())
        except AssistantError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        _print_status(state)

    @hook_app.command("status")
    def status_command() -> None:
        """Show whether the hook is installed and what it runs."""
        try:
            state = hook.status(_repo())
        except AssistantError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        _print_status(state)

    app.add_typer(hook_app, name="hook")


__all__ = ["register"]
