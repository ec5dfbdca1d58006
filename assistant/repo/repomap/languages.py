"""File extension → tree-sitter language, grammar and tag query.

Grammars come from the official `tree-sitter-<lang>` wheels (no downloads at run
time); tag queries are this package's own `queries/<lang>-tags.scm`. Everything is
loaded lazily, once per process."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from functools import cache

from tree_sitter import Language, Parser, Query

# Bump when tag extraction changes in a way that invalidates cached tags.
TAGS_VERSION = "1"


@dataclass(frozen=True)
class LangSpec:
    name: str  # our name, also the query file stem
    module: str  # python module of the grammar wheel
    distribution: str  # its PyPI distribution, for the grammar version
    factory: str = "language"  # function in `module` returning the language pointer
    queries: tuple[str, ...] = ()  # query file stems when they differ from (`name`,)


LANGUAGES: dict[str, LangSpec] = {
    spec.name: spec
    for spec in (
        LangSpec("python", "tree_sitter_python", "tree-sitter-python"),
        LangSpec("javascript", "tree_sitter_javascript", "tree-sitter-javascript"),
        LangSpec(
            "typescript", "tree_sitter_typescript", "tree-sitter-typescript", "language_typescript"
        ),
        LangSpec(
            "tsx",
            "tree_sitter_typescript",
            "tree-sitter-typescript",
            "language_tsx",
            ("typescript", "tsx"),
        ),
        LangSpec("go", "tree_sitter_go", "tree-sitter-go"),
        LangSpec("rust", "tree_sitter_rust", "tree-sitter-rust"),
        LangSpec("java", "tree_sitter_java", "tree-sitter-java"),
        LangSpec("c", "tree_sitter_c", "tree-sitter-c"),
        LangSpec("cpp", "tree_sitter_cpp", "tree-sitter-cpp"),
        LangSpec("ruby", "tree_sitter_ruby", "tree-sitter-ruby"),
        LangSpec("c_sharp", "tree_sitter_c_sharp", "tree-sitter-c-sharp"),
        LangSpec("php", "tree_sitter_php", "tree-sitter-php", "language_php"),
        LangSpec("bash", "tree_sitter_bash", "tree-sitter-bash"),
    )
}

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".cs": "c_sharp",
    ".php": "php",
    ".sh": "bash",
    ".bash": "bash",
}
FILENAMES: dict[str, str] = {"Rakefile": "ruby", "Gemfile": "ruby"}


def language_for(path: str) -> str | None:
    """Our language name for a repo path, from its extension or file name."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    if dot > 0:
        lang = EXTENSIONS.get(name[dot:].lower())
        if lang is not None:
            return lang
    return FILENAMES.get(name)


def has_language(path: str) -> bool:
    return language_for(path) is not None


@cache
def get_language(name: str) -> Language:
    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.factory)())


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


def get_parser(name: str) -> Parser:
    return Parser(get_language(name))


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
