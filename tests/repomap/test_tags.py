from __future__ import annotations

import pytest

from assistant.repo.languages import EXTENSIONS, LANGUAGES, language_for
from assistant.repo.repomap.languages import get_query
from assistant.repo.repomap.tags import extract_tags
from tests.repomap.samples import SAMPLES


def test_every_language_has_a_sample_and_a_compiling_query() -> None:
    assert set(SAMPLES) == set(LANGUAGES)
    for name in LANGUAGES:
        get_query(name)


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_definitions_and_references(lang: str) -> None:
    sample = SAMPLES[lang]
    assert language_for(f"dir/{sample.filename}") == lang
    tags = extract_tags(sample.source.encode(), lang)
    found = {(d.kind, d.name) for d in tags.defs}
    missing = set(sample.defs) - found
    assert not missing, f"{lang}: missing {missing}; found {sorted(found)}"
    missing_refs = set(sample.refs) - set(tags.refs)
    assert not missing_refs, f"{lang}: refs missing {missing_refs}; found {sorted(tags.refs)}"
    for d in tags.defs:
        assert d.line >= 1 and d.end_line >= d.line
        assert d.signature and "\n" not in d.signature
        assert -1 <= d.parent < len(tags.defs)


def test_signature_elides_body_and_joins_lines() -> None:
    tags = extract_tags(SAMPLES["python"].source.encode(), "python")
    render = next(d for d in tags.defs if d.name == "render")
    assert render.signature == 'def render(self, size: int = 3, name: str = "x") -> str'
    assert render.line == 8
    gadget = next(i for i, d in enumerate(tags.defs) if d.name == "Gadget")
    assert render.parent == gadget


def test_definition_names_are_not_references() -> None:
    tags = extract_tags(b"def solo():\n    pass\n", "python")
    assert [d.name for d in tags.defs] == ["solo"]
    assert "solo" not in tags.refs


def test_broken_file_keeps_partial_tags() -> None:
    source = (
        b"def good_one(x):\n    return x\n\ndef broken(:\n  ???\n\nclass AfterError:\n    pass\n"
    )
    tags = extract_tags(source, "python")
    assert tags.has_error
    names = {d.name for d in tags.defs}
    assert "good_one" in names
    assert "AfterError" in names


def test_non_utf8_source() -> None:
    source = "# caf\xe9\ndef na\xefve():\n    return '\xff'\n".encode("latin-1")
    tags = extract_tags(source, "python")
    assert len(tags.defs) == 1
    assert tags.defs[0].name.startswith("na")


def test_unknown_extensions() -> None:
    assert language_for("README.md") is None
    assert language_for("Makefile") is None
    # Extensions match case-insensitively (a `.H` header is C, as `.h` is);
    # file names match exactly.
    assert language_for("lib/x.H") == language_for("lib/x.h") == "c"
    assert language_for("SRC/MAIN.PY") == "python"
    assert language_for("rakefile") is None
    assert language_for("Rakefile") == "ruby"
    assert all(lang in LANGUAGES for lang in EXTENSIONS.values())
