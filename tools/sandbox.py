"""Where the tools may touch the disk, and how they touch it.

Every path the model names goes through `Sandbox.resolve`: symlinks are resolved and
the result must stay inside the repository root; `.git/` and secret files are refused
unless the user allowed them. File text is decoded with enough bookkeeping
(`TextFormat`) to write it back with the same encoding, BOM and line endings, and
every write is atomic (temp file in the same directory, fsync, rename), so a crash or
a kill leaves either the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assistant.tools.result import ToolError

MAX_FILE_BYTES = 2_000_000  # larger files are refused for reading and editing
MAX_TEXT_CHARS = 1_000_000  # largest content/new_text a model may send
TEMP_SUFFIX = ".assistant-tmp"

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
    if not bom and b"\0" in body[:8192]:
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


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(target: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `target` with `data` so that readers only ever see old or new bytes.

    The temp file lives in the same directory (rename is atomic only within one file
    system); it is fsynced before the rename and the directory after it. `mode` defaults
    to the existing file's permission bits, or the umask default for a new file. On any
    error the temp file is removed and the original is untouched."""
    directory = target.parent
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_current_umask()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


class Sandbox:
    """Confines paths to one repository root."""

    def __init__(self, root: Path, *, allow_secrets: bool = False, allow_git_dir: bool = False):
        self.root = Path(os.path.realpath(root))
        self.allow_secrets = allow_secrets
        self.allow_git_dir = allow_git_dir

    # ------------------------------------------------------------ paths

    def _check_syntax(self, path: object) -> str:
        if not isinstance(path, str):
            raise ToolError("path must be a string, relative to the repository root")
        if "\0" in path:
            raise ToolError("path contains a NUL byte; give a plain relative path like src/app.py")
        if not path.strip():
            raise ToolError("path is empty; give a path relative to the repository root")
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

    def _check_policy(self, parts: tuple[str, ...], shown: str) -> None:
        if not self.allow_git_dir and any(part.lower() == ".git" for part in parts):
            raise ToolError(
                f"'{shown}' is inside .git/, which the tools never touch; "
                "use git_status or git_diff to see repository state"
            )
        if parts and not self.allow_secrets and is_secret_name(parts[-1]):
            raise ToolError(
                f"'{shown}' looks like a secrets file; it is not shown to the model unless "
                "the user allows it"
            )

    def resolve(self, path: object) -> Resolved:
        """Resolve a model-supplied path, or refuse with a reason. Existence not checked."""
        text = self._check_syntax(path)
        self._check_policy(PurePosixPath(text.replace("\\", "/")).parts, text)
        real = os.path.realpath(os.path.join(self.root, text))
        if not self._inside(real):
            raise ToolError(
                f"'{text}' is outside the repository (after resolving '..' and symlinks); "
                "only files under the repository root can be used"
            )
        if real == str(self.root):
            raise ToolError(f"'{text}' is the repository root, not a file; use list_files")
        rel = Path(os.path.relpath(real, self.root)).as_posix()
        self._check_policy(PurePosixPath(rel).parts, text if rel == text else f"{text}' -> '{rel}")
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
        if st.st_size > MAX_FILE_BYTES:
            raise ToolError(
                f"{resolved.rel} is too large ({st.st_size} bytes; the limit is "
                f"{MAX_FILE_BYTES}); use search to find the part you need",
                resolved.rel,
            )

    def read_bytes(self, resolved: Resolved) -> bytes:
        """The file's bytes, re-checking type and size at the moment of reading."""
        try:
            with open(resolved.abs, "rb") as handle:
                self.check_regular(resolved, os.fstat(handle.fileno()))
                return handle.read(MAX_FILE_BYTES + 1)
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
