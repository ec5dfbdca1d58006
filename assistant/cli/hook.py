"""`assistant hook install|uninstall|status`: the git pre-commit hook that
runs `assistant review --staged` on every commit."""

from __future__ import annotations

import shlex
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


# What `hook install` writes when an option is not given (and was not before).
DEFAULTS = {"--fail-on": FailOn.ERROR.value, "--timeout": "120", "--strict": ""}


def _review_options(command: str) -> dict[str, str]:
    """The options of the review command line an installed hook runs."""
    words = shlex.split(command)
    options: dict[str, str] = {}
    for index, word in enumerate(words):
        if word in ("--fail-on", "--timeout", "--model") and index + 1 < len(words):
            options[word] = words[index + 1]
        elif word == "--strict":
            options[word] = "yes"
    return options


def _review_args(options: dict[str, str]) -> list[str]:
    args = ["--fail-on", options["--fail-on"], "--timeout", options["--timeout"]]
    if options.get("--strict"):
        args.append("--strict")
    if options.get("--model"):
        args += ["--model", options["--model"]]
    return args


def _show(key: str, value: str) -> str:
    if key == "--strict":
        return "on" if value else "off"
    return value or "(none)"


def register(app: typer.Typer) -> None:
    hook_app = typer.Typer(help="Manage the git pre-commit hook that reviews staged changes.")

    @hook_app.command("install")
    def install_command(
        fail_on: Annotated[
            FailOn | None,
            typer.Option(
                "--fail-on", help="Refuse the commit at or above this severity (default: error)."
            ),
        ] = None,
        timeout: Annotated[
            float | None, typer.Option("--timeout", help="Seconds per review (default: 120).")
        ] = None,
        strict: Annotated[
            bool | None,
            typer.Option("--strict/--no-strict", help="Refuse the commit when the model fails."),
        ] = None,
        model: Annotated[
            Path | None, typer.Option("--model", "-m", help="GGUF model file.")
        ] = None,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Install even into a shared hooks directory (a global or in-tree core.hooksPath).",
            ),
        ] = False,
    ) -> None:
        """Install the hook (an existing pre-commit hook is kept and runs first).
        Installing again keeps the options you do not give again."""
        try:
            repo = _repo()
            before = hook.status(repo)
            old = _review_options(before.command) if before.command else {}
            chosen = {
                "--fail-on": fail_on.value if fail_on is not None else None,
                "--timeout": f"{timeout:g}" if timeout is not None else None,
                "--strict": None if strict is None else ("yes" if strict else ""),
                "--model": str(model.expanduser().resolve()) if model is not None else None,
            }
            merged = {**DEFAULTS, **old, **{k: v for k, v in chosen.items() if v is not None}}
            state = hook.install(repo, _review_args(merged), force=force)
        except AssistantError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        if before.command:
            for key in sorted(set(old) | set(merged)):
                was, now = old.get(key, DEFAULTS.get(key, "")), merged.get(key, "")
                if was != now:
                    typer.echo(f"changed {key}: {_show(key, was)} -> {_show(key, now)}")
        _print_status(state)

    @hook_app.command("uninstall")
    def uninstall_command() -> None:
        """Remove the hook and restore the one it chained."""
        try:
            repo = _repo()
            before = hook.status(repo)
            state = hook.uninstall(repo)
        except AssistantError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        # Say what changed: "not installed" alone reads the same whether a hook
        # was just removed or there never was one.
        if before.state is not hook.HookState.INSTALLED:
            typer.echo(f"nothing to remove: no assistant pre-commit hook in {state.path.parent}")
            return
        typer.echo(f"removed the assistant pre-commit hook ({state.path})")
        if before.chained is not None:
            typer.echo(
                f"restored the earlier pre-commit hook it had kept ({before.chained} -> "
                f"{state.path})"
            )
        else:
            typer.echo("no earlier pre-commit hook to restore")

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
