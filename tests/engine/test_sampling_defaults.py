"""Where the agent's sampling comes from (llm/sampling_defaults.py), and the
sampler's separate temperature for grammar-constrained output."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.llm.engine import GenerationRequest, GrammarSpec, SamplingParams
from assistant.llm.gguf import read_gguf_info
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.sampling_defaults import GEMMA4_CARD, recommended, sampling_for


def settings(flags: dict[str, object] | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_settings(None, flags, user_file=Path("/nonexistent/config.toml"), environ=env or {})


def test_gemma4_without_gguf_keys_gets_the_model_card(gemma4_vocab_path: Path) -> None:
    # The real Gemma 4 GGUF from the llama-cpp-python sdist: no general.sampling.* keys.
    meta = read_gguf_info(gemma4_vocab_path).metadata
    assert meta["general.architecture"] == "gemma4"
    assert not any(k.startswith("general.sampling.") for k in meta)
    params = sampling_for(settings(), meta)
    assert (params.temperature, params.top_p, params.top_k) == (1.0, 0.95, 64)
    assert params.grammar_temperature == 0.2  # tool-call arguments: see the module doc


def test_gguf_sampling_keys_win_over_the_card() -> None:
    # Key names as llama.cpp's src/llama-arch.cpp (LLM_KV_GENERAL_SAMPLING_*) spells them.
    meta = {
        "general.architecture": "gemma4",
        "general.sampling.temp": 0.7,
        "general.sampling.top_k": 20,
        "general.sampling.penalty_repeat": 1.1,
    }
    rec = recommended(meta)
    assert (rec.temperature, rec.top_k, rec.top_p) == (0.7, 20, GEMMA4_CARD.top_p)
    params = sampling_for(settings(), meta)
    assert (params.temperature, params.top_k, params.repeat_penalty) == (0.7, 20, 1.1)


def test_metadata_as_llama_cpp_python_hands_it_over() -> None:
    # Llama.metadata gives every value as a string.
    meta = {"general.architecture": "gemma4", "general.sampling.top_k": "40.0"}
    meta["general.sampling.temp"] = "0.5"
    params = sampling_for(settings(), meta)
    assert (params.temperature, params.top_k) == (0.5, 40)


def test_the_users_settings_win_over_the_model() -> None:
    meta = {"general.architecture": "gemma4", "general.sampling.temp": 0.7}
    params = sampling_for(
        settings({"temperature": 0.0, "top_k": 5}, {"ASSISTANT_REPEAT_PENALTY": "1.3"}), meta
    )
    assert (params.temperature, params.top_k, params.repeat_penalty) == (0.0, 5, 1.3)
    assert params.grammar_temperature == 0.0  # never above the free-text temperature


def test_other_models_get_the_conservative_default_and_bad_keys_are_ignored() -> None:
    meta = {"general.architecture": "llama", "general.sampling.temp": "hot"}
    params = sampling_for(settings(), meta)
    assert (params.temperature, params.top_k, params.min_p) == (0.2, 40, 0.05)


@pytest.fixture(scope="module")
def smol(smollm2_path: Path) -> LlamaEngine:
    return LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=1024))


def test_grammar_temperature_governs_constrained_output(smol: LlamaEngine) -> None:
    """Real inference: a grammar active from the first token samples at
    grammar_temperature. At 0 the output is the greedy one, whatever the free
    temperature; at the free temperature (5.0) it is not."""
    spec = GrammarSpec(gbnf='root ::= [a-z]+ " " [a-z]+ " " [a-z]+ " " [a-z]+')
    prompt = smol.tokenizer.tokenize(
        "<|im_start|>user\nName four fruits.<|im_end|>\n<|im_start|>assistant\n", special=True
    )

    def run(sampling: SamplingParams) -> list[int]:
        return [t.id for t in smol.generate(GenerationRequest(prompt, 24, sampling, grammar=spec))]

    greedy = run(SamplingParams(temperature=0.0))
    hot = SamplingParams(temperature=5.0, top_k=200, top_p=1.0, min_p=0.0, seed=3)
    assert run(SamplingParams(**{**hot.__dict__, "grammar_temperature": 0.0})) == greedy
    assert run(hot) != greedy
