"""search: a regular expression over the repository's files, `path:line: text`.

Each file goes through the same sandbox as read_file (the policy applies to a
symlink's target, hard links and oversized files are skipped), and the pattern runs
under the `regex` module's timeout: a pattern that backtracks catastrophically is cut
after `SEARCH_SECONDS` and the result says so, instead of hanging the session."""

from __future__ import annotations

import time

import regex
from assistant.tools.context import ToolContext
from assistant.tools.globs import compile_glob
from assistant.tools.result import ToolError, ToolResult

DEFAULT_RESULTS = 50
MAX_RESULTS = 200
MAX_PATTERN = 1_000
LINE_CHARS = 200
SEARCH_SECONDS = 5.0  # the whole search, all files together


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
        compiled = regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as exc:
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
    timed_out = ""
    deadline = time.monotonic() + SEARCH_SECONDS
    for rel in files:
        try:
            data = ctx.sandbox.read_bytes(ctx.sandbox.resolve(rel))
        except ToolError:
            continue  # refused (secret, git dir, outside, hard link, too large) or gone
        text = data.decode("utf-8", "replace").lstrip("\ufeff")
        found = False
        for number, line in enumerate(text.split("\n"), start=1):
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                hit = compiled.search(line, timeout=left)
            except TimeoutError:
                timed_out = f"{rel}:{number}"
                break
            if hit:
                if len(results) >= limit:
                    cut = True
                    break
                found = True
                shown = line.strip()
                if len(shown) > LINE_CHARS:
                    shown = shown[:LINE_CHARS] + " …"
                results.append(f"{rel}:{number}: {shown}")
        hit_files += found
        if cut or timed_out:
            break
    where = f" (files matching '{glob}')" if glob else ""
    stopped = (
        f"[search cut after {SEARCH_SECONDS:g} s at {timed_out}: the pattern is too slow "
        "(nested repetition like (a+)+ backtracks); simplify it or add a glob]"
    )
    if not results and timed_out:
        return ToolResult(True, f"no matches before the time limit{where}\n{stopped}")
    if not results:
        return ToolResult(True, f"no matches for /{pattern}/ in {len(files)} files{where}")
    header = f"{len(results)} match{'es' if len(results) != 1 else ''} in {hit_files} file{'s' if hit_files != 1 else ''}{where}:"
    body = [header, *results]
    if cut:
        body.append(
            f"[cut at {limit} results; narrow the pattern, add a glob, or raise max_results]"
        )
    if timed_out:
        body.append(stopped)
    return ToolResult(True, "\n".join(body))
