"""Loading a language's tree-sitter grammar and tag query (the list of languages
is `assistant.repo.languages`).

Grammars come from the official `tree-sitter-<lang>` wheels (no downloads at run
time); tag queries are this package's own `queries/<lang>-tags.scm`. Everything is
loaded lazily, once per process."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
from functools import cache

from tree_sitter import Language, Parser, Query

from assistant.repo.languages import EXTENSIONS, LANGUAGES, has_language, language_for

# Bump when tag extraction changes in a way that invalidates cached tags.
TAGS_VERSION = "1"


@cache
def get_language(name: str) -> Language:
    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.factory)())


def get_parser(name: str) -> Parser:
    return Parser(get_language(name))


@cache
def query_source(name: str) -> str:
    spec = LANGUAGES[name]
    package = importlib.resources.files("assistant.repo.repomap")
    parts = [
        package.joinpath(f"queries/{stem}-tags.scm").read_text(encoding="utf-8")
        for stem in spec.queries or (spec.name,)
    ]
    return "\n".join(parts)


@cache
def get_query(name: str) -> Query:
    return Query(get_language(name), query_source(name))


@cache
def grammar_version(name: str) -> str:
    """Changes whenever cached tags for this language could be stale: the grammar
    wheel's version, the query text, or our extraction code."""
    spec = LANGUAGES[name]
    try:
        dist = importlib.metadata.version(spec.distribution)
    except importlib.metadata.PackageNotFoundError:
        dist = "?"
    digest = hashlib.sha1(query_source(name).encode()).hexdigest()[:10]
    return f"{name}-{dist}-{digest}-{TAGS_VERSION}"


__all__ = [
    "EXTENSIONS",
    "LANGUAGES",
    "TAGS_VERSION",
    "get_language",
    "get_query",
    "grammar_version",
    "has_language",
    "language_for",
    "query_source",
]
