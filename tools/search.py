"""search: a regular expression over the repository's files, `path:line: text`."""

from __future__ import annotations

import re

from assistant.tools.context import ToolContext
from assistant.tools.globs import compile_glob
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.sandbox import MAX_FILE_BYTES, is_secret_name

DEFAULT_RESULTS = 50
MAX_RESULTS = 200
MAX_PATTERN = 1_000
LINE_CHARS = 200


def search(
    ctx: ToolContext, pattern: str, glob: str | None = None, max_results: int | None = None
) -> ToolResult:
    """Search the repository's files for a regular expression (Python syntax, case
    sensitive; use (?i) for case-insensitive). Results are `path:line: text`.

    Args:
        pattern: regular expression, e.g. 'def load_\\w+' or a plain word
        glob: only search files matching this glob, e.g. '*.py' or 'src/**'
        max_results: most result lines to return (default 50, at most 200)
    """
    if not pattern:
        raise ToolError("pattern is empty; give a word or regular expression to search for")
    if len(pattern) > MAX_PATTERN:
        raise ToolError(f"pattern is too long ({len(pattern)} characters; limit {MAX_PATTERN})")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolError(
            f"invalid regular expression: {exc}; escape special characters like ( [ . * "
            "with a backslash, or search for a plain word"
        ) from None
    limit = DEFAULT_RESULTS if max_results is None else max_results
    if limit < 1:
        raise ToolError(f"max_results must be at least 1 (got {limit})")
    limit = min(limit, MAX_RESULTS)
    files = ctx.repo_files()
    if glob:
        match = compile_glob(glob)
        files = [f for f in files if match(f)]
    results: list[str] = []
    hit_files = 0
    cut = False
    root = ctx.root
    for rel in files:
        if is_secret_name(rel.rsplit("/", 1)[-1]) and not ctx.sandbox.allow_secrets:
            continue
        try:
            with open(root / rel, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError:
            continue
        if len(data) > MAX_FILE_BYTES:
            continue
        text = data.decode("utf-8", "replace").lstrip("\ufeff")
        found = False
        for number, line in enumerate(text.split("\n"), start=1):
            if regex.search(line):
                if len(results) >= limit:
                    cut = True
                    break
                found = True
                shown = line.strip()
                if len(shown) > LINE_CHARS:
                    shown = shown[:LINE_CHARS] + " …"
                results.append(f"{rel}:{number}: {shown}")
        hit_files += found
        if cut:
            break
    where = f" (files matching '{glob}')" if glob else ""
    if not results:
        return ToolResult(True, f"no matches for /{pattern}/ in {len(files)} files{where}")
    header = f"{len(results)} match{'es' if len(results) != 1 else ''} in {hit_files} file{'s' if hit_files != 1 else ''}{where}:"
    body = [header, *results]
    if cut:
        body.append(
            f"[cut at {limit} results; narrow the pattern, add a glob, or raise max_results]"
        )
    return ToolResult(True, "\n".join(body))
