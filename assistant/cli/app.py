"""The `assistant` command line. Each command group lives in
`assistant/cli/`; this module wires them, installs the network guard and
turns errors into one line and an exit code."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from assistant import __version__, netguard
from assistant.cli import options
from assistant.cli.lazy import LazyRootGroup
from assistant.errors import AssistantError

# Start-up matters (the git hook runs this on every commit): modules that only
# one command needs are imported inside it, and tests/cli/test_startup.py
# keeps the model stack (numpy, llama.cpp, tools, rich.markdown) out of here.

app = typer.Typer(
    name="assistant",
    help=(
        "A private coding assistant: a local model reads and edits your repo; "
        "nothing leaves the machine.\n\n"
        "Exit codes: 0 done, 1 the task failed (or review findings at --fail-on), "
        "2 usage error, 3 no usable model."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyRootGroup,  # chat, review, eval… are imported only when run
)

console = Console()
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"assistant {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Full tracebacks and llama.cpp's log; works before or after any command.",
        ),
    ] = False,
) -> None:
    options.set_verbose(verbose or options.verbose_requested())


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"assistant {__version__}")


def _verbose_first(argv: list[str]) -> list[str]:
    """`--verbose` anywhere before a `--` is the root option: move it to the
    front so that `assistant map --verbose` works like `assistant --verbose map`."""
    cut = argv.index("--") if "--" in argv else len(argv)
    if "--verbose" not in argv[:cut]:
        return argv
    return ["--verbose", *(a for a in argv[:cut] if a != "--verbose"), *argv[cut:]]


def main() -> None:
    netguard.install()
    argv = _verbose_first(sys.argv[1:])
    verbose = "--verbose" in argv[:1] or os.environ.get("ASSISTANT_VERBOSE") == "1"
    options.set_verbose(verbose)
    try:
        app(args=argv, prog_name="assistant")
    except AssistantError as exc:
        if verbose:  # the detail, then the same line and exit code as without --verbose
            traceback.print_exc()
        # A message is text (it may quote a URL like http://[zz]:80), never markup.
        err_console.print(f"[red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if verbose:
            raise
        err_console.print(
            f"[red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))} "
            "(run with --verbose for details)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
