"""The languages the repository map understands: one table for the repo map, the
tag queries, `doctor`'s grammar check and the review context.

Each language names the official `tree-sitter-<lang>` wheel that provides its
grammar (a dependency in pyproject.toml; a test keeps the two in step). This module
imports no grammar: it is the list; `repomap/languages.py` loads them."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


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


def grammar_modules() -> list[str]:
    """The grammar wheels' modules in table order, each once (typescript serves two
    languages)."""
    return list(dict.fromkeys(spec.module for spec in LANGUAGES.values()))


def grammar_wheels() -> tuple[list[str], list[str]]:
    """The grammar wheels that are importable and those that are not (for `doctor`)."""
    found: list[str] = []
    missing: list[str] = []
    for module in grammar_modules():
        name = module.removeprefix("tree_sitter_")
        (found if importlib.util.find_spec(module) else missing).append(name)
    return found, missing


__all__ = [
    "EXTENSIONS",
    "FILENAMES",
    "LANGUAGES",
    "LangSpec",
    "grammar_modules",
    "grammar_wheels",
    "has_language",
    "language_for",
]
