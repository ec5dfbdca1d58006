"""The one way the assistant replaces a file, and the one "is this binary" test.

`atomic_write_at` writes a temp file next to the target (inside an already-open
directory fd, never following a symlink), fsyncs it, gives it the old file's mode,
owner and extended attributes where the OS lets us, renames it over the target
inside the same directory fd and fsyncs the directory. A crash or a kill leaves
the old file or the new one, never half of either, and a directory swapped for a
symlink meanwhile cannot redirect the write: every step is relative to the fd.

This is a kernel module (it imports nothing of the package) so that every layer,
from the prefix cache in llm/ up to the tools, can share it."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

TEMP_SUFFIX = ".assistant-tmp"
BINARY_SNIFF_BYTES = 8192  # git looks this far for a NUL byte


def looks_binary(head: bytes) -> bool:
    """True when the start of a file holds a NUL byte (git's own heuristic)."""
    return b"\0" in head[:BINARY_SNIFF_BYTES]


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _copy_metadata(old_fd: int, new_fd: int, old: os.stat_result) -> None:
    """Owner and extended attributes of the old file onto the new one, as far as the
    OS allows (an ordinary user can keep the group it belongs to, root keeps all)."""
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):
            os.fchown(new_fd, old.st_uid, old.st_gid)
    if hasattr(os, "listxattr"):
        try:
            names = os.listxattr(old_fd)
        except OSError:
            names = []
        for name in names:
            with contextlib.suppress(OSError):
                os.setxattr(new_fd, name, os.getxattr(old_fd, name))


def atomic_write_at(dir_fd: int, name: str, data: bytes, mode: int | None = None) -> None:
    """Replace `name` (one path component) inside the directory `dir_fd` with `data`.

    `mode` defaults to the existing file's permission bits, or the umask default for
    a new file. On any error the temp file is removed and the original is untouched."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"not a single path component: {name!r}")
    old_fd: int | None = None
    old: os.stat_result | None = None
    with contextlib.suppress(OSError):
        old_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        if old_fd is not None:
            old = os.fstat(old_fd)
            if not stat.S_ISREG(old.st_mode):
                os.close(old_fd)
                old_fd, old = None, None
        if mode is None:
            mode = stat.S_IMODE(old.st_mode) if old is not None else 0o666 & ~current_umask()
        tmp_name = f".{name[:100]}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(tmp_name, flags, 0o600, dir_fd=dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
                if old_fd is not None and old is not None:
                    _copy_metadata(old_fd, fd, old)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            os.rename(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name, dir_fd=dir_fd)
            raise
    finally:
        if old_fd is not None:
            os.close(old_fd)
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


def atomic_write(target: Path, data: bytes, mode: int | None = None) -> None:
    """`atomic_write_at` for a path whose directory the caller trusts (the assistant's
    own cache and data directories, or a path already confined by the tools)."""
    dir_fd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        atomic_write_at(dir_fd, target.name, data, mode)
    finally:
        os.close(dir_fd)


__all__ = ["TEMP_SUFFIX", "atomic_write", "atomic_write_at", "current_umask", "looks_binary"]
