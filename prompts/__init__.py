"""Prompt texts shipped with the package. Edit the .txt files, not Python strings."""

from __future__ import annotations

from importlib import resources


def load(name: str) -> str:
    """Return the text of prompt `name` (file `name.txt` in this package)."""
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
