"""Typer sub-commands, one module per command group; `assistant.cli` wires them."""
