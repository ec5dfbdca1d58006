"""What every model-using command does the same way: settings, the model file,
loading the engine behind a spinner, the prefix cache and the trace."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from assistant.config import Settings, load_settings, user_cache_dir
from assistant.engine import EngineConfig, LlamaEngine
from assistant.models import resolve_model_path
from assistant.trace import TraceWriter


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


def load_engine(
    settings: Settings,
    *,
    model: str | None = None,
    trace: Path | None = None,
    verbose: bool = False,
    console: Console | None = None,
) -> LlamaEngine:
    """Resolve the model file and load it, with a spinner on stderr."""
    path = resolve_model_path(model, settings)
    console = console or Console(stderr=True)
    writer = TraceWriter(trace) if trace is not None else None
    with console.status(f"loading {path.name}…", spinner="dots"):
        return LlamaEngine.load(path, engine_config(settings, verbose=verbose), trace=writer)


def settings_for(repo_root: Path | None, **flags: object) -> Settings:
    return load_settings(repo_root, {k: v for k, v in flags.items() if v is not None})
