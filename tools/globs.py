"""Glob filters for list_files and search: `*` and `?` stay within one directory,
`**` crosses directories, a pattern without `/` matches a file's name at any depth,
and a plain directory name (or `dir/`) means everything under it."""

from __future__ import annotations

import re
from collections.abc import Callable

_MAGIC = re.compile(r"[*?\[]")


def _translate(glob: str) -> str:
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


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
    regex = re.compile(_translate(glob) + r"\Z", re.S)
    if "/" in glob:
        return lambda path: regex.match(path) is not None
    return lambda path: regex.match(path.rsplit("/", 1)[-1]) is not None
