"""Real llama.cpp inference on the two small test models."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm.engine import CancelToken, GenerationRequest, SamplingParams, StopReason
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.trace import TraceWriter, read_trace
from tests.conftest import ENGINE_THREADS

GREEDY = SamplingParams(temperature=0.0)


def chatml(engine: LlamaEngine, text: str) -> list[int]:
    tok = engine.tokenizer
    return tok.tokenize(
        f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n", special=True
    )


@pytest.fixture(scope="module")
def smol(smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory) -> LlamaEngine:
    trace = TraceWriter(tmp_path_factory.mktemp("trace") / "trace.jsonl")
    return LlamaEngine.load(
        smollm2_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=2048), trace=trace
    )


@pytest.mark.parametrize("model", ["smollm2", "tiny_gemma4"])
def test_loads_and_streams(model: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(f"{model}_path")
    engine = LlamaEngine.load(path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=1024))
    tok = engine.tokenizer
    prompt = ([tok.bos_id] if tok.bos_id is not None else []) + tok.tokenize("Hello")
    pieces = list(engine.generate(GenerationRequest(prompt, max_tokens=12, sampling=GREEDY)))
    assert 0 < len(pieces) <= 12
    assert all(p.piece == tok.piece(p.id) for p in pieces)
    assert engine.last_stats.generated_tokens == len(pieces)
    assert engine.last_stats.evaluated_tokens == len(prompt)
    engine.close()


def test_n_ctx_is_capped_at_the_models_length(smollm2_path: Path) -> None:
    engine = LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=1_000_000))
    assert engine.n_ctx == 8192  # SmolLM2's trained context
    engine.close()


def test_stops_at_end_of_turn_and_yields_the_stop_token(smol: LlamaEngine) -> None:
    out = list(smol.generate(GenerationRequest(chatml(smol, "Say hi."), 200, GREEDY)))
    assert out[-1].id in smol.tokenizer.eos_ids
    assert smol.last_stats.stop_reason is StopReason.END_OF_TURN


def test_cancel_stops_within_one_token(smol: LlamaEngine) -> None:
    cancel = CancelToken()
    seen = []
    for token in smol.generate(
        GenerationRequest(chatml(smol, "Write a long story."), 200, GREEDY), cancel
    ):
        seen.append(token)
        if len(seen) == 3:
            cancel.cancel()
    assert len(seen) == 3
    assert smol.last_stats.stop_reason is StopReason.CANCELLED


def test_closing_the_generator_stops_it_as_the_end_of_the_turn(smol: LlamaEngine) -> None:
    """A protocol that sees the turn end in text (a generic `<tool_response>`
    tag) closes the generator: generation stops there, END_OF_TURN rather
    than the token limit, and the KV cache stays right for the next call."""
    prompt = chatml(smol, "Write a long story.")
    tokens = smol.generate(GenerationRequest(prompt, 200, GREEDY))
    out = [next(tokens).id for _ in range(3)]
    tokens.close()
    assert (smol.last_stats.stop_reason, smol.last_stats.generated_tokens) == (
        StopReason.END_OF_TURN,
        3,
    )
    follow = prompt + out + smol.tokenizer.tokenize(" And?")
    list(smol.generate(GenerationRequest(follow, 2, GREEDY)))
    # The last token handed out was never evaluated: it is read with the new text.
    assert smol.last_stats.evaluated_tokens == len(follow) - len(prompt) - len(out) + 1


def test_follow_up_evaluates_only_the_new_suffix(smol: LlamaEngine) -> None:
    first = chatml(smol, "Name a colour.")
    out = [t.id for t in smol.generate(GenerationRequest(first, 8, GREEDY))]
    follow = first + out + smol.tokenizer.tokenize(" And another?")
    list(smol.generate(GenerationRequest(follow, 4, GREEDY)))
    assert smol.trace is not None
    last = read_trace(smol.trace.path)[-1]
    new_tokens = len(follow) - len(first) - len(out) + 1  # +1: the last sampled token
    assert last["reused_tokens"] == len(follow) - new_tokens
    assert last["evaluated_tokens"] == new_tokens
    assert last["prompt_ids"] == follow


def test_same_prompt_twice_reuses_all_but_one_token(smol: LlamaEngine) -> None:
    prompt = chatml(smol, "Count to three.")
    list(smol.generate(GenerationRequest(prompt, 6, GREEDY)))
    again = list(smol.generate(GenerationRequest(prompt, 6, GREEDY)))
    # Only the last prompt token is evaluated again (its logits are needed);
    # outputs may differ in near-ties, since a batch of 1 rounds differently.
    assert again
    assert smol.last_stats.reused_tokens == len(prompt) - 1
    assert smol.last_stats.evaluated_tokens == 1


def test_disk_prefix_cache_restores_state_in_a_new_engine(
    smollm2_path: Path, tmp_path: Path
) -> None:
    config = EngineConfig(
        n_threads=ENGINE_THREADS, n_ctx=2048, prefix_cache_dir=tmp_path / "prefix"
    )
    system = "You are a careful assistant. " * 40
    first = LlamaEngine.load(smollm2_path, config)
    prefix = first.tokenizer.tokenize(f"<|im_start|>system\n{system}<|im_end|>\n", special=True)
    prompt = prefix + chatml(first, "What is 2+2?")
    a = [
        t.id
        for t in first.generate(GenerationRequest(prompt, 10, GREEDY, cache_boundary=len(prefix)))
    ]
    assert first.last_stats.loaded_tokens == 0
    first.close()

    second = LlamaEngine.load(smollm2_path, config)
    b = [
        t.id
        for t in second.generate(GenerationRequest(prompt, 10, GREEDY, cache_boundary=len(prefix)))
    ]
    assert second.last_stats.loaded_tokens == len(prefix)
    assert second.last_stats.evaluated_tokens == len(prompt) - len(prefix)
    assert a == b
    second.close()


def test_tiny_gemma4_prefix_cache_roundtrip(tiny_gemma4_path: Path, tmp_path: Path) -> None:
    config = EngineConfig(
        n_threads=ENGINE_THREADS, n_ctx=1024, prefix_cache_dir=tmp_path / "prefix"
    )
    engine = LlamaEngine.load(tiny_gemma4_path, config)
    tok = engine.tokenizer
    prefix = [tok.bos_id, *tok.tokenize("<|turn>system\nBe brief.<turn|>\n", special=True)]
    prompt = prefix + tok.tokenize("<|turn>user\nhi<turn|>\n<|turn>model\n", special=True)
    a = [
        t.id
        for t in engine.generate(GenerationRequest(prompt, 8, GREEDY, cache_boundary=len(prefix)))
    ]
    engine.close()
    again = LlamaEngine.load(tiny_gemma4_path, config)
    b = [
        t.id
        for t in again.generate(GenerationRequest(prompt, 8, GREEDY, cache_boundary=len(prefix)))
    ]
    assert again.last_stats.loaded_tokens == len(prefix)
    assert a == b
    again.close()


def test_prompt_longer_than_context_is_a_clear_error(smol: LlamaEngine) -> None:
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="does not fit"):
        list(smol.generate(GenerationRequest([1] * 5000, 4)))


def test_cancel_during_prompt_evaluation_keeps_the_engine_usable(smol: LlamaEngine) -> None:
    cancel = CancelToken()
    cancel.cancel()  # already set: the abort callback stops the first batch
    long_prompt = chatml(smol, "Summarise: " + "lorem ipsum dolor sit amet " * 150)
    assert list(smol.generate(GenerationRequest(long_prompt, 8, GREEDY), cancel)) == []
    assert smol.last_stats.stop_reason is StopReason.CANCELLED
    out = list(smol.generate(GenerationRequest(long_prompt, 4, GREEDY)))
    assert out
    assert smol.last_stats.reused_tokens + smol.last_stats.evaluated_tokens == len(long_prompt)
