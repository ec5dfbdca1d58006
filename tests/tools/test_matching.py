"""The layered matchers and the glob filter, directly."""

from __future__ import annotations

from assistant.tools.globs import compile_glob
from assistant.tools.matching import apply_spans, closest_lines, find_matches, strip_line_numbers

PY = "def f():\n    if x:\n        return 1\n    return 2\n"


def _apply(text: str, old: str, new: str) -> tuple[str, str]:
    outcome = find_matches(text, old, new)
    assert len(outcome.spans) == 1, outcome
    return outcome.matcher, apply_spans(text, outcome.spans)


def test_exact_first() -> None:
    assert _apply(PY, "return 1", "return 3") == ("exact", PY.replace("return 1", "return 3"))


def test_trailing_whitespace() -> None:
    matcher, out = _apply(PY, "    if x:  \n        return 1\t\n", "    if y:\n        return 1\n")
    assert matcher == "trailing whitespace ignored"
    assert out == PY.replace("if x:", "if y:")


def test_indentation_flexible_keeps_relative_indent() -> None:
    matcher, out = _apply(PY, "if x:\n    return 1", "if x:\n    log()\n    return 1")
    assert matcher == "indentation-flexible"
    assert out == "def f():\n    if x:\n        log()\n        return 1\n    return 2\n"


def test_relative_indent_must_agree_for_indentation_layer() -> None:
    outcome = find_matches(PY, "if x:\nreturn 1", "z")
    assert outcome.matcher == "whitespace-normalised"


def test_tabs_file_spaces_model() -> None:
    text = "def f():\n\tif x:\n\t\treturn 1\n"
    matcher, out = _apply(text, "    if x:\n        return 1", "    if x:\n        return 9")
    assert matcher == "whitespace-normalised"
    assert out == "def f():\n\tif x:\n\t\treturn 9\n"


def test_ambiguity_is_reported_not_guessed() -> None:
    text = "a = 1\nb = 2\n    a = 1\n"
    outcome = find_matches(text, "a  = 1", "a = 3")
    assert outcome.matcher == "whitespace-normalised" and len(outcome.spans) == 2


def test_line_number_prefixes() -> None:
    assert (
        strip_line_numbers(" 2|     if x:\n 3|         return 1") == "    if x:\n        return 1"
    )
    assert strip_line_numbers("if x:\n 3| y") is None
    matcher, _ = _apply(
        PY, "2|     if x:\n3|         return 1\n", "2|     if y:\n3|         return 1\n"
    )
    assert matcher == "line-number prefixes removed, exact"


def test_no_match_and_closest() -> None:
    assert find_matches(PY, "while True:", "x").spans == ()
    first, lines = closest_lines(PY, "    if  x :\n        return 1") or (0, [])
    assert first == 2 and lines[0] == "    if x:"
    assert closest_lines(PY, "completely unrelated words here") is None


def test_globs() -> None:
    assert compile_glob("*.py")("src/a/b.py")
    assert not compile_glob("src/*.py")("src/a/b.py")
    assert compile_glob("src/**/*.py")("src/b.py") and compile_glob("src/**/*.py")("src/a/b.py")
    assert compile_glob("src")("src/a/b.py") and not compile_glob("src")("srcx/a.py")
    assert compile_glob("docs/")("docs/x.md") and compile_glob("./docs/*.md")("docs/x.md")
    assert compile_glob("README.md")("README.md") and compile_glob("?.py")("a.py")
    assert compile_glob("[ab].py")("b.py") and not compile_glob("[!ab].py")("b.py")
