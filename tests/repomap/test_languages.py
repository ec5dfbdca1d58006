"""The language table in `assistant.repo.languages` is the only list: the grammar
wheels pyproject.toml depends on, mypy's list of untyped grammar modules and
`doctor`'s check all follow it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from assistant.repo.languages import LANGUAGES, grammar_modules, grammar_wheels

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _pyproject() -> dict[str, object]:
    with PYPROJECT.open("rb") as fh:
        return tomllib.load(fh)


def test_pyproject_depends_on_exactly_the_grammar_wheels_of_the_table() -> None:
    deps = _pyproject()["project"]["dependencies"]  # type: ignore[index]
    names = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in deps}  # type: ignore[union-attr]
    grammar_deps = {n for n in names if n.startswith("tree-sitter-")}
    assert grammar_deps == {spec.distribution for spec in LANGUAGES.values()}


def test_mypy_override_lists_exactly_the_grammar_modules() -> None:
    overrides = _pyproject()["tool"]["mypy"]["overrides"]  # type: ignore[index]
    listed = {m for o in overrides for m in o["module"] if m.startswith("tree_sitter_")}  # type: ignore[union-attr]
    assert listed == set(grammar_modules())


def test_doctor_check_covers_every_grammar_wheel() -> None:
    found, missing = grammar_wheels()
    assert missing == []  # the dev install has every grammar
    assert sorted(found) == sorted(m.removeprefix("tree_sitter_") for m in grammar_modules())
    assert "typescript" in found and found.count("typescript") == 1
