"""Which official tree-sitter grammar wheels are importable (for `doctor`)."""

from __future__ import annotations

import importlib.util

GRAMMAR_MODULES = (
    "tree_sitter_python",
    "tree_sitter_javascript",
    "tree_sitter_typescript",
    "tree_sitter_go",
    "tree_sitter_rust",
    "tree_sitter_java",
    "tree_sitter_c",
    "tree_sitter_cpp",
    "tree_sitter_ruby",
    "tree_sitter_c_sharp",
    "tree_sitter_php",
    "tree_sitter_bash",
)


def grammar_wheels() -> tuple[list[str], list[str]]:
    found: list[str] = []
    missing: list[str] = []
    for module in GRAMMAR_MODULES:
        name = module.removeprefix("tree_sitter_")
        (found if importlib.util.find_spec(module) else missing).append(name)
    return found, missing
