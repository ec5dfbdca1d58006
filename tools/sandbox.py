"""Where the tools may touch the disk, and how they touch it.

Every path the model names goes through `Sandbox.resolve`: symlinks are resolved and
the result must stay inside the repository root; `.git/`, any other git directory
inside the work tree, and secret files are refused unless the user allowed them; the
policy is applied to the name the model gave *and* to the resolved target.

Resolving is only the check. The actual reads and writes walk the resolved path again,
one component at a time, from a directory fd opened once for the root, with
`O_NOFOLLOW` (`Sandbox.open_place`): a directory swapped for a symlink after the check
(during an approval prompt, or by a racing process) makes the operation fail instead
of landing outside the repository. Writes take an `flock` on the file's directory
around read-compare-write, so two processes cannot both edit the same file from the
same old text, and go through `assistant.fsutil.atomic_write_at` inside that
directory fd (temp file, fsync, rename), so a crash leaves the old file or the new
one, never half of either. File text is decoded with enough bookkeeping
(`TextFormat`) to write it back with the same encoding, BOM and line endings."""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import fnmatch
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from assistant.tools.result import ToolError

from assistant.fsutil import TEMP_SUFFIX, atomic_write, atomic_write_at, looks_binary
from assistant.terminal import CONTROL_CLASS, show_controls

MAX_FILE_BYTES = 2_000_000  # larger files are refused for reading and editing
MAX_TEXT_CHARS = 1_000_000  # largest content/new_text a model may send

# Names that usually hold credentials; refused unless the user allows secrets.
SECRET_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    "credentials.json",
)
# Templates that look like secrets by name but are meant to be shared.
SECRET_EXCEPTIONS: tuple[str, ...] = (".env.example", ".env.sample", ".env.template", ".env.dist")

_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux; longer paths are refused before any syscall
MAX_PATH_PARTS = 256

# Files that change the assistant's own powers (what it reads as instructions, what
# it ignores, what runs at commit time): a change to one needs the user's explicit
# approval of that very change, even under auto-edit, and is refused under --yes.
PROTECTED_NAMES: frozenset[str] = frozenset(
    {".assistant.toml", ".assistantignore", "agents.md", ".pre-commit-config.yaml"}
)
PROTECTED_DIRS: frozenset[str] = frozenset({".assistant"})

# A file name may hold no control or invisible formatting character, nor a tab or newline.
_NAME_CONTROL = re.compile(f"[{CONTROL_CLASS}\\t\\n]")


def has_control_chars(name: str) -> bool:
    """True when a file name holds a newline, tab or any other control character."""
    return _NAME_CONTROL.search(name) is not None


def is_protected(rel: str) -> bool:
    """True for the files that configure or instruct the assistant itself."""
    parts = [part.lower() for part in PurePosixPath(rel).parts]
    if not parts:
        return False
    return parts[-1] in PROTECTED_NAMES or any(part in PROTECTED_DIRS for part in parts[:-1])


def is_secret_name(name: str) -> bool:
    """True when a file's base name looks like it holds credentials."""
    lower = name.lower()
    if lower in SECRET_EXCEPTIONS:
        return False
    return any(fnmatch.fnmatchcase(lower, pattern) for pattern in SECRET_PATTERNS)


@dataclass(frozen=True)
class Resolved:
    """A path inside the sandbox: `rel` is what the model and the user see."""

    rel: str  # posix, relative to the root
    abs: Path  # fully resolved (symlinks followed)


@dataclass(frozen=True)
class TextFormat:
    """How a text file was stored, so that writing it back changes only what was edited.

    When `normalized` is true the model saw the text with every line ending turned into
    `\\n` and `encode_text` turns them back into `newline`; files with mixed line endings
    are shown raw (`normalized` false) so that untouched lines keep theirs."""

    encoding: str = "utf-8"
    bom: bytes = b""
    newline: str = "\n"
    normalized: bool = True

    def describe(self) -> str:
        parts = [self.encoding + (" with BOM" if self.bom else "")]
        if self.newline != "\n" or not self.normalized:
            parts.append("mixed line endings" if not self.normalized else "CRLF line endings")
        return ", ".join(parts)


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes, rel: str) -> tuple[str, TextFormat]:
    """Decode file bytes for the model, or refuse binary / non-UTF text with a reason."""
    bom = b""
    encoding = "utf-8"
    for candidate, name in _BOMS:
        if data.startswith(candidate):
            bom, encoding = candidate, name
            break
    body = data[len(bom) :]
    if not bom and looks_binary(body):
        raise ToolError(f"{rel} is a binary file; only text files can be read or edited", rel)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{rel} is not valid {encoding} text (bad byte at offset {exc.start + len(bom)}); "
            "only UTF-8 and UTF-16 (with BOM) files can be read or edited",
            rel,
        ) from None
    if "\0" in text:
        raise ToolError(f"{rel} is a binary file; only text files can be read or edited", rel)
    crlf = text.count("\r\n")
    lone_lf = text.count("\n") - crlf
    lone_cr = text.count("\r") - crlf
    if crlf and not lone_lf and not lone_cr:
        return text.replace("\r\n", "\n"), TextFormat(encoding, bom, "\r\n", True)
    if lone_cr and not crlf and not lone_lf:
        return text.replace("\r", "\n"), TextFormat(encoding, bom, "\r", True)
    if not crlf and not lone_cr:
        return text, TextFormat(encoding, bom, "\n", True)
    newline = "\r\n" if crlf >= lone_lf else "\n"
    return text, TextFormat(encoding, bom, newline, False)


def normalize_input(text: str, fmt: TextFormat) -> str:
    """Model-supplied text in the same line-ending convention the model was shown."""
    if fmt.normalized:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def encode_text(text: str, fmt: TextFormat, rel: str) -> bytes:
    """Inverse of `decode_text` for the same format."""
    if fmt.normalized and fmt.newline != "\n":
        text = text.replace("\n", fmt.newline)
    try:
        return fmt.bom + text.encode(fmt.encoding)
    except UnicodeEncodeError as exc:
        raise ToolError(
            f"the new text for {rel} has a character that {fmt.encoding} cannot store "
            f"({exc.object[exc.start : exc.end]!r}); remove it and try again",
            rel,
        ) from None


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _changed(rel: str) -> ToolError:
    return ToolError(
        f"{rel}: a directory on its path was replaced (by a symlink or a file) while the "
        "tool was using it; nothing was changed. List the files again and retry",
        rel,
    )


@dataclass
class Place:
    """A file's directory, opened component by component without following symlinks,
    and locked (`flock`) for as long as the `with` block runs."""

    sandbox: Sandbox
    resolved: Resolved
    dir_fd: int
    name: str
    created: list[str] = field(default_factory=list)  # new parent dirs, outermost first

    def stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def read(self) -> bytes | None:
        """The file's bytes now, None if it does not exist."""
        try:
            return self.sandbox._read_at(self.dir_fd, self.name, self.resolved)
        except FileNotFoundError:
            return None

    def write(self, data: bytes, mode: int | None) -> None:
        atomic_write_at(self.dir_fd, self.name, data, mode)

    def unlink(self) -> None:
        os.unlink(self.name, dir_fd=self.dir_fd)


class Sandbox:
    """Confines paths to one repository root."""

    def __init__(self, root: Path, *, allow_secrets: bool = False, allow_git_dir: bool = False):
        self.root = Path(os.path.realpath(root))
        self.allow_secrets = allow_secrets
        self.allow_git_dir = allow_git_dir
        self._root_fd: int | None = None
        self._git_dirs: tuple[str, ...] | None = None  # repo-relative git dirs in the tree
        self._is_git_dir: dict[str, bool] = {}

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        if self._root_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._root_fd)
            self._root_fd = None

    @property
    def root_fd(self) -> int:
        """The repository root, opened once: every later walk starts here, so even a
        root renamed or replaced meanwhile cannot redirect a write."""
        if self._root_fd is None:
            try:
                self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as exc:
                raise ToolError(f"cannot open the repository root ({exc.strerror})") from None
        return self._root_fd

    # ------------------------------------------------------------ git dirs

    def git_dirs(self) -> tuple[str, ...]:
        """Repo-relative paths of the git directories inside the work tree: what
        `git rev-parse --git-dir/--git-common-dir` name (e.g. a separate git dir made
        with `git init --separate-git-dir=$PWD/gitdata`), and where a `.git` file
        points. `.git/` itself is covered by name."""
        if self._git_dirs is None:
            from assistant.repo.git import git_dirs

            found: set[str] = set()
            for path in git_dirs(self.root):
                real = os.path.realpath(path)
                if self._inside(real) and real != str(self.root):
                    found.add(Path(os.path.relpath(real, self.root)).as_posix())
            self._git_dirs = tuple(sorted(found))
        return self._git_dirs

    def _looks_like_git_dir(self, rel_dir: str) -> bool:
        """A directory holding HEAD plus objects/ (a repository) or commondir (a
        worktree's admin dir): any nested or separate git dir, whoever points at it."""
        cached = self._is_git_dir.get(rel_dir)
        if cached is None:
            base = self.root / rel_dir
            cached = (base / "HEAD").is_file() and (
                (base / "objects").is_dir() or (base / "commondir").is_file()
            )
            self._is_git_dir[rel_dir] = cached
        return cached

    def in_git_dir(self, rel: str) -> bool:
        parts = PurePosixPath(rel).parts
        if any(part.lower() == ".git" for part in parts):
            return True
        for git_dir in self.git_dirs():
            if rel == git_dir or rel.startswith(git_dir + "/"):
                return True
        return any(self._looks_like_git_dir("/".join(parts[:i])) for i in range(1, len(parts)))

    # ------------------------------------------------------------ paths

    def _check_syntax(self, path: object) -> str:
        if not isinstance(path, str):
            raise ToolError("path must be a string, relative to the repository root")
        if "\0" in path:
            raise ToolError("path contains a NUL byte; give a plain relative path like src/app.py")
        try:
            path.encode("utf-8")
        except UnicodeError:
            # A lone surrogate (JSON "\ud800", or a non-UTF-8 byte from the shell):
            # every encode on the way (the OS, the terminal, the tokenizer) would fail.
            raise ToolError(
                f"path {ascii(path)[:200]} is not UTF-8 text (it holds a lone surrogate); "
                "the tools take UTF-8 file names only"
            ) from None
        if not path.strip():
            raise ToolError("path is empty; give a path relative to the repository root")
        if len(path) > MAX_PATH_CHARS or path.count("/") + path.count("\\") >= MAX_PATH_PARTS:
            raise ToolError(
                f"path is too long ({len(path)} characters, {path.count('/') + 1} parts; "
                f"the limit is {MAX_PATH_CHARS} characters and {MAX_PATH_PARTS} parts)"
            )
        if path.startswith("~"):
            raise ToolError(
                f"'{path}' points at a home directory; only files inside the repository "
                "can be used, given relative to its root"
            )
        if os.path.isabs(path) or _WINDOWS_ABS.match(path):
            hint = ""
            real = os.path.realpath(path) if os.path.isabs(path) else ""
            if real and self._inside(real) and real != str(self.root):
                hint = f" (use '{Path(os.path.relpath(real, self.root)).as_posix()}')"
            raise ToolError(
                f"absolute paths are not allowed: '{path}'; give the path relative to the "
                f"repository root{hint}"
            )
        return path

    def _inside(self, real: str) -> bool:
        root = str(self.root)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def _check_policy(self, rel: str, shown: str) -> None:
        parts = PurePosixPath(rel).parts
        if not self.allow_git_dir and self.in_git_dir(rel):
            raise ToolError(
                f"'{shown}' is inside a git directory, which the tools never touch; "
                "use git_status or git_diff to see repository state"
            )
        if parts and not self.allow_secrets and is_secret_name(parts[-1]):
            raise ToolError(
                f"'{shown}' looks like a secrets file; it is not shown to the model unless "
                "the user allows it"
            )

    def resolve(self, path: object) -> Resolved:
        """Resolve a model-supplied path, or refuse with a reason. Existence not checked.

        The policy is checked on the name as given and again on the resolved target,
        so `innocent.txt -> .env` is as secret as `.env`."""
        text = self._check_syntax(path)
        given = PurePosixPath(text.replace("\\", "/"))
        if not self.allow_git_dir and any(part.lower() == ".git" for part in given.parts):
            self._check_policy(".git", text)
        if given.parts and not self.allow_secrets and is_secret_name(given.parts[-1]):
            self._check_policy(given.parts[-1], text)
        try:
            real = os.path.realpath(os.path.join(self.root, text))
        except (OSError, ValueError) as exc:
            raise ToolError(f"cannot resolve '{text[:200]}': {exc}") from None
        if not self._inside(real):
            raise ToolError(
                f"'{text}' is outside the repository (after resolving '..' and symlinks); "
                "only files under the repository root can be used"
            )
        if real == str(self.root):
            raise ToolError(f"'{text}' is the repository root, not a file; use list_files")
        rel = Path(os.path.relpath(real, self.root)).as_posix()
        self._check_policy(rel, text if rel == text else f"{text}' -> '{rel}")
        return Resolved(rel=rel, abs=Path(real))

    def resolve_existing(self, path: object, candidates: list[str] | None = None) -> Resolved:
        """Resolve a path that must name an existing regular file of acceptable size."""
        resolved = self.resolve(path)
        try:
            st = os.stat(resolved.abs)
        except FileNotFoundError:
            hint = ""
            if candidates:
                close = difflib.get_close_matches(resolved.rel, candidates, n=3, cutoff=0.5)
                if not close:
                    base = PurePosixPath(resolved.rel).name
                    close = [c for c in candidates if PurePosixPath(c).name == base][:3]
                if close:
                    hint = " Did you mean: " + ", ".join(close) + "?"
            raise ToolError(
                f"no such file: {resolved.rel}; use list_files or search to find the right "
                f"path.{hint}",
                resolved.rel,
            ) from None
        except OSError as exc:
            raise ToolError(f"cannot access {resolved.rel}: {exc.strerror}", resolved.rel) from None
        self.check_regular(resolved, st)
        return resolved

    def check_regular(self, resolved: Resolved, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            raise ToolError(
                f"{resolved.rel} is a directory, not a file; use list_files with "
                f"glob '{resolved.rel}/**' to see what it holds",
                resolved.rel,
            )
        if not stat.S_ISREG(st.st_mode):
            raise ToolError(f"{resolved.rel} is not a regular file", resolved.rel)
        if st.st_nlink > 1:
            # The other name may be outside the repository (a hard link to ~/.ssh/...);
            # nothing cheap can tell, so no file with several names is read.
            raise ToolError(
                f"{resolved.rel} has {st.st_nlink} hard links, and the other names may be "
                "outside the repository; it is not read. Copy it (cp --remove-destination) "
                "if it should be used",
                resolved.rel,
            )
        if st.st_size > MAX_FILE_BYTES:
            raise ToolError(
                f"{resolved.rel} is too large ({st.st_size} bytes; the limit is "
                f"{MAX_FILE_BYTES}); use search to find the part you need",
                resolved.rel,
            )

    # ------------------------------------------------------------ confined I/O

    def _open_dirs(self, parts: tuple[str, ...], rel: str, create: bool) -> tuple[int, list[str]]:
        """An fd for the directory `parts` under the root, walked without following
        symlinks; missing directories are made when `create`."""
        # A fresh open file description, not a dup: flock belongs to the description,
        # and a lock taken through a dup of root_fd would outlive this walk.
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.root_fd)
        created: list[str] = []
        try:
            for i, part in enumerate(parts):
                try:
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                        created.append("/".join(parts[: i + 1]))
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except NotADirectoryError:
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        raise _changed(rel) from None
                    raise ToolError(
                        f"cannot use {rel}: {'/'.join(parts[: i + 1])} is a file, not a directory",
                        rel,
                    ) from None
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        raise _changed(rel) from None
                    raise
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            self._remove_created(created)
            raise
        return fd, created

    def _remove_created(self, created: list[str]) -> None:
        for rel_dir in reversed(created):
            self.remove_dir(rel_dir)

    def remove_dir(self, rel_dir: str) -> None:
        """Remove an empty directory the tools made (never following a symlink)."""
        parts = PurePosixPath(rel_dir).parts
        if not parts:
            return
        with contextlib.suppress(OSError, ToolError):
            fd, _ = self._open_dirs(parts[:-1], rel_dir, create=False)
            try:
                os.rmdir(parts[-1], dir_fd=fd)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def open_place(
        self, resolved: Resolved, *, create_parents: bool = False, lock: bool = True
    ) -> Iterator[Place]:
        """The file's directory, walked from the root fd without following symlinks and
        (with `lock`) locked against other processes of the assistant until the block
        ends. Changes lock; plain reads need not, as writers only ever rename whole files."""
        parts = PurePosixPath(resolved.rel).parts
        try:
            fd, created = self._open_dirs(parts[:-1], resolved.rel, create_parents)
        except FileNotFoundError:
            raise ToolError(
                f"{resolved.rel} no longer exists; use list_files to see the current files",
                resolved.rel,
            ) from None
        except OSError as exc:
            raise ToolError(
                f"cannot open the directory of {resolved.rel} ({exc.strerror})", resolved.rel
            ) from None
        try:
            if lock:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield Place(self, resolved, fd, parts[-1], created)
        finally:
            os.close(fd)  # closing the fd releases the lock

    def _read_at(self, dir_fd: int, name: str, resolved: Resolved) -> bytes:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _changed(resolved.rel) from None
            raise
        with os.fdopen(fd, "rb") as handle:
            self.check_regular(resolved, os.fstat(fd))
            return handle.read(MAX_FILE_BYTES + 1)

    def read_bytes(self, resolved: Resolved) -> bytes:
        """The file's bytes, re-checking confinement, type, links and size at the moment
        of reading."""
        try:
            with self.open_place(resolved, lock=False) as place:
                return self._read_at(place.dir_fd, place.name, resolved)
        except FileNotFoundError:
            raise ToolError(
                f"{resolved.rel} no longer exists; use list_files to see the current files",
                resolved.rel,
            ) from None
        except IsADirectoryError:
            self.check_regular(resolved, os.stat(resolved.abs))
            raise
        except OSError as exc:
            raise ToolError(f"cannot read {resolved.rel}: {exc.strerror}", resolved.rel) from None


__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TEXT_CHARS",
    "TEMP_SUFFIX",
    "Place",
    "Resolved",
    "Sandbox",
    "TextFormat",
    "atomic_write",
    "decode_text",
    "encode_text",
    "has_control_chars",
    "is_protected",
    "is_secret_name",
    "normalize_input",
    "show_controls",
]
