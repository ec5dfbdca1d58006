"""The root command group, with each command module imported on first use.

`assistant --help`, `version` and the git hook's `review` run on every
invocation a user makes, so they must not pay for importing chat, eval and the
agent stack. The root help lists each lazy command from its summary here; a
test (tests/cli/test_startup.py) keeps every summary equal to the first
paragraph of the command's own help, so the two cannot drift apart."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches

import click
import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    name: str
    module: str  # its `register(app)` adds this command (and maybe siblings)
    summary: str  # the root help line: the first paragraph of the command's help


LAZY_COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "chat",
        "assistant.cli.chat",
        "Chat about this repository; the model reads files and proposes edits.",
    ),
    LazyCommand(
        "ask",
        "assistant.cli.oneshot",
        "Answer a question about this repository with read-only tools.",
    ),
    LazyCommand(
        "edit",
        "assistant.cli.oneshot",
        "Make a change in the repository. Without --yes, print the unified diff it would make "
        "and change nothing. With --test / --lint (or --checks), run them after the change and "
        "let the model fix what fails.",
    ),
    LazyCommand("refactor", "assistant.cli.oneshot", "Same as `edit`."),
    LazyCommand(
        "review",
        "assistant.cli.review",
        "Review a change with the local model; findings anchored to the diff.",
    ),
    LazyCommand(
        "map",
        "assistant.cli.map",
        "Show the ranked, token-budgeted map of this repository's definitions.",
    ),
    LazyCommand(
        "rename",
        "assistant.cli.rename",
        "Rename a function, class, method or variable across the repository, with no model.",
    ),
    LazyCommand(
        "tool",
        "assistant.cli.tool",
        "Run one tool as the model would call it (a dry run unless --yes).",
    ),
    LazyCommand(
        "undo",
        "assistant.cli.tool",
        "Revert the last change (or the last N) the assistant made in this repository.",
    ),
    LazyCommand(
        "hook",
        "assistant.cli.hook",
        "Manage the git pre-commit hook that reviews staged changes.",
    ),
    LazyCommand("model", "assistant.cli.model", "Download, list and inspect model files."),
    LazyCommand(
        "config",
        "assistant.cli.config",
        "Show the merged configuration; trust a repository's own settings.",
    ),
    LazyCommand(
        "doctor",
        "assistant.cli.doctor",
        "Check the set-up: model, threads, CPU features, llama.cpp, git, grammars, network guard.",
    ),
    LazyCommand(
        "eval",
        "assistant.cli.eval",
        "Measure a model on coding tasks: run a suite, compare two runs, fetch the benchmark.",
    ),
)
_BY_NAME = {command.name: command for command in LAZY_COMMANDS}


def load_module_commands(module_name: str) -> dict[str, click.Command]:
    """The click commands a command module registers, built the way the root
    app would build them. An import error propagates: it is a bug to surface."""
    module = importlib.import_module(module_name)
    holder = typer.Typer()
    module.register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyRootGroup(TyperGroup):
    """Commands defined in app.py are built eagerly; those in LAZY_COMMANDS are
    imported when resolved, and shown from their summary on the root help."""

    _listing_help = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in _BY_NAME]
        return [command.name for command in LAZY_COMMANDS] + eager

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        lazy = _BY_NAME.get(cmd_name)
        if found is not None or lazy is None:
            return found
        if self._listing_help:  # the root help needs only a name and a line
            return click.Command(cmd_name, help=lazy.summary)
        self._load(lazy.module)
        return self.commands.get(cmd_name)

    def _load(self, module_name: str) -> None:
        for name, command in load_module_commands(module_name).items():
            self.add_command(command, name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing_help = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing_help = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # TyperGroup suggests only from the commands already built; the lazy
        # ones count too.
        try:
            return click.Group.resolve_command(self, ctx, args)
        except click.UsageError as exc:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if not matches:
                raise
            hint = ", ".join(repr(m) for m in matches)
            raise click.UsageError(
                f"{exc.message.rstrip('.')}. Did you mean {hint}?", ctx
            ) from None

    def load_all(self) -> None:
        """Build every command (for tests and documentation checks)."""
        for command in LAZY_COMMANDS:
            if command.name not in self.commands:
                self._load(command.module)
