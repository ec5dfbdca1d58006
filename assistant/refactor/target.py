"""How a person names the thing to rename, and the definitions that match.

OLD is one of:
  NAME                  a definition named NAME anywhere (refused, with the candidates
                        listed, when several different things have that name)
  Qual.NAME             the same, matched against the qualified name (`Cart.total`)
  FILE::Qual.NAME       the definition with that qualified name in FILE
                        (`shop/cart.py::Cart.total`, `shop/cart.py::helper.count` for a
                        local of `helper`)
  FILE:LINE[:COL]       the name at that position (1-based; like rope's offset): a
                        use or a definition, a local or a parameter included; without
                        COL, the name defined on that line
Positional PATHs only narrow where the definition is looked for; its uses are
renamed across the whole repository."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from assistant.errors import UsageError

_POSITION = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


@dataclass(frozen=True)
class TargetSpec:
    text: str
    name: str = ""  # empty for a position
    qual: tuple[str, ...] = ()  # enclosing definitions, outermost first
    path: str = ""
    line: int = 0
    column: int = 0  # 1-based; 0 when not given

    @property
    def qualified(self) -> str:
        return ".".join([*self.qual, self.name])


def parse_target(text: str) -> TargetSpec:
    text = text.strip()
    if not text:
        raise UsageError("OLD is empty; give a name, FILE::Qual.name or FILE:LINE[:COL]")
    if "::" in text:
        path, _, qual = text.partition("::")
        parts = tuple(qual.split("."))
        if not path or not all(_is_name(p) for p in parts):
            raise UsageError(f"cannot read {text!r}; the form is FILE::Qual.name")
        return TargetSpec(text, parts[-1], parts[:-1], path)
    match = _POSITION.match(text)
    if match and not _is_name(text.replace(".", "_")):
        line = int(match["line"])
        col = int(match["col"] or 0)
        if line < 1:
            raise UsageError(f"line numbers start at 1 ({text!r})")
        return TargetSpec(text, path=match["path"], line=line, column=col)
    parts = tuple(text.split("."))
    if not all(_is_name(p) for p in parts):
        raise UsageError(
            f"cannot read {text!r}; give a name, Qual.name, FILE::Qual.name or FILE:LINE[:COL]"
        )
    return TargetSpec(text, parts[-1], parts[:-1])


def _is_name(text: str) -> bool:
    return text.isidentifier() or (
        text.isascii() and re.fullmatch(r"[A-Za-z_$][\w$]*", text) is not None
    )


def check_new_name(new: str, reserved: frozenset[str]) -> None:
    """Refuse a NEW that is not an identifier or is a reserved word of the language."""
    from assistant.refactor.errors import RenameRefused

    if not new or not _is_name(new) or (new.startswith("$") and not new[1:]):
        raise RenameRefused(f"{new!r} is not an identifier; nothing was changed")
    if new in reserved:
        raise RenameRefused(f"{new!r} is a keyword; nothing was changed")


PYTHON_RESERVED = frozenset(keyword.kwlist)


@dataclass(frozen=True)
class Candidate:
    """A definition OLD may mean."""

    rel: str
    line: int
    qual: str  # qualified name within its file
    kind: str  # function, class, method, variable, attribute, parameter, …
    key: object  # what the language's planner renames (equal keys: the same thing)

    def describe(self) -> str:
        return f"{self.rel}:{self.line}  {self.kind} {self.qual}  (as OLD: {self.rel}::{self.qual})"


__all__ = ["PYTHON_RESERVED", "Candidate", "TargetSpec", "check_new_name", "parse_target"]
