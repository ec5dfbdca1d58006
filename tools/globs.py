"""Glob filters for list_files and search: `*` and `?` stay within one directory,
`**` crosses directories, a pattern without `/` matches a file's name at any depth,
and a plain directory name (or `dir/`) means everything under it."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.tools.result import ToolError

from assistant.repo.files import glob_to_regex

_MAGIC = re.compile(r"[*?\[]")


def compile_glob(glob: str) -> Callable[[str], bool]:
    """A predicate over repo-relative posix paths."""
    glob = glob.strip()
    while glob.startswith("./"):
        glob = glob[2:]
    if glob.endswith("/"):
        glob += "**"
    if not _MAGIC.search(glob):
        exact = glob.rstrip("/")
        return lambda path: (
            path == exact
            or path.startswith(exact + "/")
            or ("/" not in exact and path.rsplit("/", 1)[-1] == exact)
        )
    try:
        regex = re.compile(glob_to_regex(glob) + r"\Z", re.S)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ToolError(
            f"invalid glob {glob!r} ({exc}); use *, ** and ? wildcards, and write a "
            "character class low to high, like [a-z]"
        ) from None
    if "/" in glob:
        return lambda path: regex.match(path) is not None
    return lambda path: regex.match(path.rsplit("/", 1)[-1]) is not None
