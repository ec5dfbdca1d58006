"""Settings, merged from (lowest first) defaults, the user's config file, the
repo's `.assistant.toml`, environment variables and command-line flags.
Each value remembers where it came from, for `assistant config show`."""

from __future__ import annotations

import os
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
    flash_attn: bool = False
    temperature: float = 0.2
    repeat_penalty: float = 1.0  # >1 helps very small models that loop; hurts exact copying
    max_tokens: int = 2048
    think: bool = False
    approval: str = "ask"  # ask | auto-edit | read-only
    allow_commands: bool = False
    map_tokens: int = 1024
    prefix_cache_mb: int = 2048
    endpoint: str | None = None
    chat_template: str | None = None  # a Jinja file used instead of the GGUF's own template
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


# Environment variable → setting.
ENV_VARS = {
    "ASSISTANT_MODEL": "model",
    "ASSISTANT_CTX": "n_ctx",
    "ASSISTANT_THREADS": "threads",
    "ASSISTANT_KV_TYPE": "kv_type",
    "ASSISTANT_APPROVAL": "approval",
    "ASSISTANT_ENDPOINT": "endpoint",
    "ASSISTANT_REPEAT_PENALTY": "repeat_penalty",
}

_FIELD_TYPES = {f.name: f.type for f in fields(Settings) if f.name != "sources"}


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    try:
        if value is None:
            return None
        if "bool" in kind:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if "int" in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{origin}: setting {name!r} has a bad value {value!r}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from exc


def load_settings(
    repo_root: Path | None = None,
    flags: dict[str, Any] | None = None,
    *,
    user_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    settings = Settings()
    for f in fields(Settings):
        if f.name != "sources":
            settings.sources[f.name] = "default"

    def apply(values: dict[str, Any], origin: str) -> None:
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in _FIELD_TYPES:
                raise UsageError(f"{origin}: unknown setting {key!r}")
            setattr(settings, name, _coerce(name, value, origin))
            settings.sources[name] = origin

    user_path = user_file or user_config_file()
    apply(_read_toml(user_path), str(user_path))
    if repo_root is not None:
        repo_path = repo_root / REPO_FILE
        apply(_read_toml(repo_path), str(repo_path))
    env = os.environ if environ is None else environ
    apply({name: env[var] for var, name in ENV_VARS.items() if env.get(var)}, "environment")
    apply({k: v for k, v in (flags or {}).items() if v is not None}, "command line")
    if settings.approval not in ("ask", "auto-edit", "read-only"):
        raise UsageError(f"approval must be ask, auto-edit or read-only, not {settings.approval!r}")
    return settings
