"""A typer app with just the review and hook commands, so the tests (and the
hook they install) can run them before or without `assistant.cli.app`.

    python -m tests.review.app review --staged"""

from __future__ import annotations

import typer

from assistant.cli import hook, review

app = typer.Typer(add_completion=False, no_args_is_help=True)
review.register(app)
hook.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
