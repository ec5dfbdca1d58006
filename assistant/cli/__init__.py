"""The `assistant` command line: `app` wires one module per command group."""

from __future__ import annotations


def main() -> None:
    from assistant.cli.app import main as run

    run()
