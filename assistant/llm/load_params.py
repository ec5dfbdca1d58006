"""What a model load runs with: the engine's configuration and how its
defaults and caps are resolved (threads, the model's context cap, KV type).

Kept apart from llama.py, which loads llama.cpp and numpy, so that
`assistant config show` can show the values a run will use by calling the
very function the load calls (`resolve_config`), without loading either."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from assistant.llm import hardware
from assistant.llm.hardware import ExtraBuffers, physical_cores


@dataclass(frozen=True)
class EngineConfig:
    n_ctx: int = 16384
    n_threads: int | None = None  # None: the free physical cores, re-read as load changes
    extra_buffers: ExtraBuffers = ExtraBuffers.AUTO  # see llm/hardware.py
    n_batch: int = 512
    flash_attn: bool = False
    kv_type: str | None = None  # f16 (default), q8_0 or q4_0; quantized KV needs flash attention
    verbose: bool = False
    seed: int = 0
    prefix_cache_dir: Path | None = None
    prefix_cache_max_bytes: int = 2 << 30
    # A folder for a note written while the first decode runs, so that a native
    # crash there is explained by the next run (hardware.take_crashed_first_decodes).
    first_decode_marker: Path | None = None


def resolve_config(config: EngineConfig, path: Path | None) -> EngineConfig:
    """The values a load of `path` runs with, every default and cap applied:
    the context capped at what the model was trained for, the thread count,
    the KV cache type, flash attention (which a quantized KV cache needs).
    `LlamaEngine.load` uses it, and `config show` shows it (its "effective"
    column), so the two cannot disagree. `path` None: no model to cap by."""
    n_ctx_train = _n_ctx_train(path) if path is not None else 0
    kv_type = config.kv_type or "f16"
    return replace(
        config,
        n_ctx=min(config.n_ctx, n_ctx_train) if n_ctx_train > 0 else config.n_ctx,
        # the count for now: unset, it follows the free cores (hardware.ThreadGovernor)
        n_threads=hardware.ThreadGovernor(hardware.default_cores(), config.n_threads).threads_now(),
        kv_type=kv_type,
        flash_attn=config.flash_attn or kv_type != "f16",
    )


def _n_ctx_train(path: Path) -> int:
    from assistant.llm.gguf import read_gguf_info

    try:
        return read_gguf_info(path).context_length or 0
    except Exception:
        return 0


__all__ = ["EngineConfig", "physical_cores", "resolve_config"]
