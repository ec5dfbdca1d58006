"""The sampling settings a model runs with: the user's, else the model's own
recommendation, else a documented default.

Where each value comes from, first found wins:
1. the user's setting (config file, environment or flag);
2. the GGUF's `general.sampling.*` keys. llama.cpp's converter writes them from
   the model's `generation_config.json` (gguf-py/gguf/metadata.py,
   Metadata.load) and llama.cpp applies them unless the user set a value
   (common/common.cpp, common_init_sampler_from_model; key names in
   src/llama-arch.cpp, LLM_KV_GENERAL_SAMPLING_*);
3. for Gemma 4 (architecture `gemma4`), its model card: temperature 1.0,
   top_p 0.95, top_k 64;
4. for a model that recommends nothing, temperature 0.2 with llama.cpp's
   other defaults (common/common.h, common_params_sampling: top_k 40,
   top_p 0.95, min_p 0.05). llama.cpp's own 0.8 is a chat default; without a
   recommendation a coding assistant stays close to the likeliest tokens
   (and this is what every model got before models could say otherwise).
min_p is llama.cpp's 0.05 unless the GGUF says otherwise: it is what llama.cpp
runs the model card's settings with, and it cuts the long tail of a 262k
vocabulary.

Free text and grammar-constrained tool calls differ in temperature only.
Once a tool-call grammar constrains the output, the syntax is fixed. The
model still picks the argument values: paths, and the exact old text an edit
replaces. Copying demands the most likely token every time. At temperature
1.0 with top_k 64, a 200-token `old` string would almost surely get a
near-miss token somewhere, the edit would not match, and the model would
retry. So tool-call arguments sample at `tool_temperature` (default 0.2, and
never above the free-text temperature). It is not 0: when the loop refuses a
repeated identical call, the next attempt can come out differently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.config import Settings
from assistant.llm.engine import SamplingParams

GGUF_TEMP = "general.sampling.temp"
GGUF_TOP_K = "general.sampling.top_k"
GGUF_TOP_P = "general.sampling.top_p"
GGUF_MIN_P = "general.sampling.min_p"
GGUF_REPEAT = "general.sampling.penalty_repeat"


@dataclass(frozen=True)
class Recommended:
    temperature: float
    top_k: int
    top_p: float
    min_p: float = 0.05
    source: str = ""


# Gemma 4 model card (google/gemma-4-*-it, "Best practices": temperature=1.0,
# top_p=0.95, top_k=64).
GEMMA4_CARD = Recommended(1.0, 64, 0.95, source="Gemma 4 model card")
NO_RECOMMENDATION = Recommended(0.2, 40, 0.95, source="default for models without one")


def _number(metadata: Mapping[str, Any], key: str, kind: type) -> Any:
    value = metadata.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        # llama-cpp-python hands metadata over as strings; "40.0" is a top_k of 40.
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError, OverflowError):
        return None  # a malformed key is ignored, as llama.cpp's strtof does


def recommended(metadata: Mapping[str, Any]) -> Recommended:
    """The model's own recommendation: its GGUF keys over its family's default."""
    base = GEMMA4_CARD if metadata.get("general.architecture") == "gemma4" else NO_RECOMMENDATION
    temp = _number(metadata, GGUF_TEMP, float)
    top_k = _number(metadata, GGUF_TOP_K, int)
    top_p = _number(metadata, GGUF_TOP_P, float)
    min_p = _number(metadata, GGUF_MIN_P, float)
    if all(v is None for v in (temp, top_k, top_p, min_p)):
        return base
    return Recommended(
        temperature=base.temperature if temp is None else temp,
        top_k=base.top_k if top_k is None else top_k,
        top_p=base.top_p if top_p is None else top_p,
        min_p=base.min_p if min_p is None else min_p,
        source="GGUF general.sampling",
    )


def sampling_for(settings: Settings, metadata: Mapping[str, Any], seed: int = 0) -> SamplingParams:
    """The agent's sampling: the user's settings over the model's recommendation."""
    rec = recommended(metadata)
    temperature = rec.temperature if settings.temperature is None else settings.temperature
    repeat = settings.repeat_penalty
    if settings.sources.get("repeat_penalty", "default") == "default":
        repeat = _number(metadata, GGUF_REPEAT, float) or repeat
    return SamplingParams(
        temperature=temperature,
        top_k=rec.top_k if settings.top_k is None else settings.top_k,
        top_p=rec.top_p if settings.top_p is None else settings.top_p,
        min_p=rec.min_p,
        repeat_penalty=repeat,
        seed=seed,
        grammar_temperature=min(temperature, settings.tool_temperature),
    )
