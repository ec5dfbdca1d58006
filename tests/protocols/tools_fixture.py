"""Tool schemas shared by the protocol tests (strings, integers, arrays, nested objects, enums)."""

from __future__ import annotations

from assistant.toolspec import EXISTING_PATH_KEY, ToolSpec

READ_FILE = ToolSpec(
    "read_file",
    "Read a text file from the repository.",
    {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "Path relative to the repo root.",
                EXISTING_PATH_KEY: True,
            },
            "start_line": {"type": "integer", "description": "First line, 1-based."},
        },
        "required": ["path"],
    },
)
SEARCH = ToolSpec(
    "search",
    "Search the repository for a regular expression.",
    {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "A regular expression."},
            "globs": {"type": "array", "description": "File globs.", "items": {"type": "string"}},
            "mode": {
                "type": "string",
                "description": "How to match.",
                "enum": ["regex", "literal"],
            },
        },
        "required": ["pattern"],
    },
)
EDIT = ToolSpec(
    "edit_file",
    "Replace text in a file.",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File to edit."},
            "edits": {
                "type": "array",
                "description": "Replacements, applied in order.",
                "items": {
                    "type": "object",
                    "properties": {
                        "old": {"type": "string", "description": "Text to find."},
                        "new": {"type": "string", "description": "Replacement."},
                    },
                    "required": ["old", "new"],
                },
            },
        },
        "required": ["path", "edits"],
    },
    mutates=True,
)
RUN = ToolSpec(
    "run_tests",
    "Run the test suite.",
    {
        "type": "object",
        "properties": {
            "options": {
                "type": "object",
                "description": "Runner options.",
                "properties": {
                    "timeout": {"type": "integer", "description": "Seconds."},
                    "verbose": {"type": "boolean", "description": "Print more."},
                    "ratio": {"type": "number", "description": "Sample ratio."},
                },
                "required": ["timeout"],
            },
            "targets": {"type": "array", "description": "Test ids.", "items": {"type": "string"}},
        },
        "required": ["options"],
    },
)
TOOLS = [READ_FILE, SEARCH, EDIT, RUN]
