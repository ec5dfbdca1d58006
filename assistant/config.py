"""Settings, merged from (lowest first) defaults, the user's config file, the
repo's `.assistant.toml`, environment variables and command-line flags.
Each value remembers where it came from, for `assistant config show`.

Every value is checked here, whatever its origin: types without silent
rounding, finite numbers, ranges, choices. The repository's file is read with
the same confinement as the `read_file` tool and cannot grant privileges
(`PRIVILEGED`) unless the user trusts it."""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from assistant.errors import UsageError

APP = "assistant"
REPO_FILE = ".assistant.toml"


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def user_cache_dir() -> Path:
    return Path(os.environ.get("ASSISTANT_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def user_data_dir() -> Path:
    return Path(os.environ.get("ASSISTANT_DATA_DIR") or platformdirs.user_data_dir(APP))


@dataclass
class Settings:
    model: str | None = None  # a GGUF path; None: the default model in the cache
    n_ctx: int = 16384
    threads: int | None = None
    kv_type: str | None = None
    # auto | on | off: llama.cpp's extra weight buffer types (AMX, CPU_REPACK);
    # auto turns them off where llama.cpp offers AMX (llm/hardware.py says why).
    extra_buffers: str = "auto"
    flash_attn: bool = False
    # Sampling: None takes the model's recommendation (GGUF general.sampling.*,
    # else its model card; see llm/sampling_defaults.py).
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    tool_temperature: float = 0.2  # tool-call arguments under a grammar
    repeat_penalty: float = 1.0  # >1 helps very small models that loop; hurts exact copying
    max_tokens: int = 2048
    stop_repetition: bool = True  # stop an answer that loops (the same n-gram cycle)
    think: bool = False
    approval: str = "ask"  # ask | auto-edit | read-only
    allow_commands: bool = False
    map_tokens: int = 1024
    prefix_cache_mb: int = 2048
    endpoint: str | None = None
    # Checks after the model's changes (see agent/checks.py). These five are
    # PRIVILEGED: a repo's own .assistant.toml sets them only once trusted.
    lint_command: str | None = None  # e.g. "ruff check {files}"
    test_command: str | None = None  # e.g. "pytest -x -q"
    auto_test: bool = False  # chat: run the checks after every turn that changed files
    fix_rounds: int = 2  # times the model is shown a failure and asked to fix it
    check_timeout: int = 300  # seconds per check command
    chat_template: str | None = None  # a Jinja file used instead of the GGUF's own template
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # One-line remarks for the user (a capped value, ignored repo settings).
    notes: list[str] = field(default_factory=list, repr=False, compare=False)


# Environment variable → setting.
ENV_VARS = {
    "ASSISTANT_MODEL": "model",
    "ASSISTANT_CTX": "n_ctx",
    "ASSISTANT_THREADS": "threads",
    "ASSISTANT_KV_TYPE": "kv_type",
    "ASSISTANT_EXTRA_BUFFERS": "extra_buffers",
    "ASSISTANT_APPROVAL": "approval",
    "ASSISTANT_ENDPOINT": "endpoint",
    "ASSISTANT_REPEAT_PENALTY": "repeat_penalty",
}

# Settings that change what the assistant may do or run. A repository's own
# `.assistant.toml` sets them only after `assistant config trust` (recorded per
# repository path and file hash): cloning a repository must not grant it powers.
PRIVILEGED = frozenset(
    {
        "approval",
        "allow_commands",
        "model",
        "chat_template",
        "endpoint",
        "lint_command",
        "test_command",
        # a property of the user's machine, and "on" can crash it (llm/hardware.py)
        "extra_buffers",
        # How often and how long commands run: a clone must not raise them.
        "auto_test",
        "fix_rounds",
        "check_timeout",
    }
)
APPROVALS = ("ask", "auto-edit", "read-only")
KV_TYPES = ("f16", "q8_0", "q4_0")
EXTRA_BUFFERS = ("auto", "on", "off")  # llm.hardware.ExtraBuffers
MAX_CONFIG_BYTES = 256 * 1024
TRUST_FILE = "trusted-repos.json"

_FIELD_TYPES = {f.name: f.type for f in fields(Settings) if f.name not in ("sources", "notes")}


@dataclass(frozen=True)
class _Range:
    low: float | None = None
    high: float | None = None


# Bounds checked in one place for every origin (file, env, flag).
_RANGES: dict[str, _Range] = {
    "n_ctx": _Range(256, 1 << 24),
    "threads": _Range(1, None),  # above the core count: capped with a note
    "temperature": _Range(0, 100),
    "tool_temperature": _Range(0, 100),
    "top_k": _Range(0, 1 << 24),
    "top_p": _Range(0, 1),
    "repeat_penalty": _Range(0.01, 100),
    "max_tokens": _Range(1, 1 << 24),
    "map_tokens": _Range(0, 1 << 20),
    "prefix_cache_mb": _Range(0, 1 << 30),
    "fix_rounds": _Range(0, 100),
    "check_timeout": _Range(1, 1 << 20),
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bad(origin: str, name: str, value: Any, why: str) -> UsageError:
    return UsageError(f"{origin}: setting {name!r} has a bad value {value!r}: {why}")


def _coerce(name: str, value: Any, origin: str) -> Any:
    """The typed value, or a UsageError naming the origin. No silent rounding:
    `n_ctx = 1.9` and `allow_commands = [0]` are refused, not turned into 1 and True."""
    kind = str(_FIELD_TYPES[name])
    if value is None:
        return None
    if "bool" in kind:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise _bad(origin, name, value, "expected true or false")
    if "int" in kind:
        if isinstance(value, bool):
            raise _bad(origin, name, value, "expected a whole number")
        if isinstance(value, int):
            number: float = value
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            number = int(value.strip())
        else:
            raise _bad(origin, name, value, "expected a whole number")
    elif "float" in kind:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _bad(origin, name, value, "expected a number")
        try:
            number = float(value)
        except ValueError:
            raise _bad(origin, name, value, "expected a number") from None
        if not math.isfinite(number):
            raise _bad(origin, name, value, "expected a finite number")
    else:
        if not isinstance(value, str):
            raise _bad(origin, name, value, "expected a string")
        return value
    bounds = _RANGES.get(name)
    if bounds is not None:
        if bounds.low is not None and number < bounds.low:
            raise _bad(origin, name, value, f"must be at least {bounds.low:g}")
        if bounds.high is not None and number > bounds.high:
            raise _bad(origin, name, value, f"must be at most {bounds.high:g}")
    return int(number) if "int" in kind else number


def _check_choices(settings: Settings) -> None:
    if settings.approval not in APPROVALS:
        raise UsageError(
            f"{settings.sources.get('approval', 'settings')}: approval must be ask, auto-edit "
            f"or read-only, not {settings.approval!r}"
        )
    if settings.extra_buffers not in EXTRA_BUFFERS:
        raise UsageError(
            f"{settings.sources.get('extra_buffers', 'settings')}: extra_buffers must be "
            f"auto, on or off, not {settings.extra_buffers!r}"
        )
    if settings.kv_type is not None and settings.kv_type not in KV_TYPES:
        raise UsageError(
            f"{settings.sources.get('kv_type', 'settings')}: kv_type must be one of "
            f"{', '.join(KV_TYPES)}, not {settings.kv_type!r}"
        )


def _cap_threads(settings: Settings) -> None:
    cores = os.cpu_count() or 1
    if settings.threads is not None and settings.threads > cores:
        settings.notes.append(
            f"threads {settings.threads} (from {settings.sources['threads']}) capped at "
            f"{cores}, the number of CPU cores"
        )
        settings.threads = cores


class ConfinedReadError(UsageError):
    """A repository file the assistant reads for itself is not a plain file
    inside the repository (a symlink out, a device, a FIFO, too large…)."""


def read_repo_file(root: Path, name: str, max_bytes: int) -> bytes | None:
    """The bytes of `root/name`, a file the assistant reads for itself
    (`.assistant.toml`, AGENTS.md), with the checks `read_file` applies: the
    resolved path stays inside the repository and out of `.git`, it is a
    regular file with one link (not a device, FIFO or hard link to elsewhere),
    and no larger than `max_bytes`. None when it does not exist."""
    path = root / name
    try:
        root_real = os.path.realpath(root)
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return None
    if not os.path.lexists(path):
        return None
    rel = os.path.relpath(real, root_real)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        raise ConfinedReadError(f"{name} points outside the repository ({real}); not read")
    if rel.split(os.sep)[0] == ".git":
        raise ConfinedReadError(f"{name} points into .git; not read")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfinedReadError(f"cannot read {name}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfinedReadError(f"{name} is not a regular file; not read")
        if info.st_nlink > 1:
            raise ConfinedReadError(f"{name} is a hard link ({info.st_nlink} links); not read")
        if info.st_size > max_bytes:
            raise ConfinedReadError(
                f"{name} is {info.st_size} bytes, more than the {max_bytes} allowed; not read"
            )
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise ConfinedReadError(f"{name} grew past {max_bytes} bytes while read; not read")
        return data
    finally:
        os.close(fd)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return _parse_toml(fh.read(), path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from exc


def _parse_toml(data: bytes, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from exc


def _trust_key(repo_root: Path) -> str:
    return str(repo_root.resolve())


def _load_trust() -> dict[str, str]:
    path = user_data_dir() / TRUST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def repo_config_hash(repo_root: Path) -> str | None:
    data = read_repo_file(repo_root, REPO_FILE, MAX_CONFIG_BYTES)
    return None if data is None else hashlib.sha256(data).hexdigest()


def is_trusted(repo_root: Path, digest: str) -> bool:
    return _load_trust().get(_trust_key(repo_root)) == digest


def set_trust(repo_root: Path, trusted: bool) -> str | None:
    """Trust (or stop trusting) this repository's `.assistant.toml` as it is now.
    Returns the recorded hash, or None when there is no file or trust was removed."""
    digest = repo_config_hash(repo_root)
    table = _load_trust()
    key = _trust_key(repo_root)
    if trusted and digest is not None:
        table[key] = digest
    else:
        table.pop(key, None)
    path = user_data_dir() / TRUST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return digest if trusted else None


COMMAND_LINE = "command line"  # the origin of values given as flags


def load_settings(
    repo_root: Path | None = None,
    flags: dict[str, Any] | None = None,
    *,
    user_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    settings = Settings()
    for f in fields(Settings):
        if f.name not in ("sources", "notes"):
            settings.sources[f.name] = "default"

    def apply(values: dict[str, Any], origin: str) -> None:
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in _FIELD_TYPES:
                if name in PRIVILEGED:  # a setting another version knows; ignored here
                    continue
                raise UsageError(f"{origin}: unknown setting {key!r}")
            setattr(settings, name, _coerce(name, value, origin))
            settings.sources[name] = origin

    user_path = user_file or user_config_file()
    apply(_read_toml(user_path), str(user_path))
    if repo_root is not None:
        repo_path = repo_root / REPO_FILE
        try:
            data = read_repo_file(repo_root, REPO_FILE, MAX_CONFIG_BYTES)
        except ConfinedReadError as exc:
            settings.notes.append(f"{exc.message}; using your own settings only")
            data = None
        if data is not None:
            values = _parse_toml(data, repo_path)
            asked = sorted(k for k in values if k.replace("-", "_") in PRIVILEGED)
            if asked and not is_trusted(repo_root, hashlib.sha256(data).hexdigest()):
                settings.notes.append(
                    f"{repo_path} sets {', '.join(asked)}; ignored until you trust it "
                    "with `assistant config trust`"
                )
                values = {k: v for k, v in values.items() if k not in asked}
            apply(values, str(repo_path))
    env = os.environ if environ is None else environ
    for var, name in ENV_VARS.items():  # the origin names the variable a user has to unset
        if env.get(var):
            apply({name: env[var]}, var)
    apply({k: v for k, v in (flags or {}).items() if v is not None}, COMMAND_LINE)
    _check_choices(settings)
    _cap_threads(settings)
    return settings
