"""list_files: the repository's files, as the repo map sees them."""

from __future__ import annotations

from assistant.tools.context import ToolContext
from assistant.tools.globs import compile_glob
from assistant.tools.result import ToolResult

MAX_FILES = 500


def list_files(ctx: ToolContext, glob: str | None = None) -> ToolResult:
    """List the repository's files (tracked and untracked, minus ignored, binary and
    generated ones), optionally filtered by a glob.

    Args:
        glob: e.g. '*.py' (any depth), 'src/**/*.ts', or a directory like 'docs/'
    """
    files = ctx.repo_files()
    if glob:
        match = compile_glob(glob)
        files = [f for f in files if match(f)]
    where = f" matching '{glob}'" if glob else ""
    if not files:
        return ToolResult(True, f"0 files{where}")
    shown = files[:MAX_FILES]
    lines = [f"{len(files)} file{'s' if len(files) != 1 else ''}{where}:", *shown]
    if len(files) > len(shown):
        lines.append(
            f"[cut: {len(files) - len(shown)} more; narrow the list with a glob like 'src/**/*.py']"
        )
    return ToolResult(True, "\n".join(lines))
