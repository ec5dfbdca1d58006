"""What every model-using command does the same way: settings and the engine
configuration (context, threads, KV type, the disk prefix cache)."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.config import Settings, load_settings, user_cache_dir
from assistant.llm.llama import EngineConfig


def engine_config(settings: Settings, *, verbose: bool = False) -> EngineConfig:
    return EngineConfig(
        n_ctx=settings.n_ctx,
        n_threads=settings.threads,
        flash_attn=settings.flash_attn,
        kv_type=settings.kv_type,
        verbose=verbose,
        prefix_cache_dir=user_cache_dir() / "prefix-states",
        prefix_cache_max_bytes=settings.prefix_cache_mb << 20,
    )


def show_notes(settings: Settings) -> Settings:
    """One stderr line per note (a capped value, repo settings not trusted)."""
    for note in settings.notes:
        sys.stderr.write(f"note: {note}\n")
    return settings


def settings_for(repo_root: Path | None, **flags: object) -> Settings:
    return show_notes(load_settings(repo_root, {k: v for k, v in flags.items() if v is not None}))
