"""ScriptedEngine: replays Gemma 4 token ids with the stats and stopping rules
of the real engine. The last test holds it to that: the same calls on the real
llama.cpp engine (tiny Gemma 4) and on a script of its output give the same
stats and the same KV cache contents."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ModelLoadError
from assistant.llm.engine import (
    CancelToken,
    GenerationRequest,
    GrammarSpec,
    SamplingParams,
    StopReason,
)
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.scripted import ScriptedEngine, ScriptError
from assistant.llm.trace import TraceWriter, read_trace
from tests.conftest import ENGINE_THREADS

CALL = '<|tool_call>call:read_file{path:<|"|>a.py<|"|>}<tool_call|><|tool_response>'


def prompt_of(engine: ScriptedEngine, text: str) -> list[int]:
    return engine.tokenizer.tokenize(
        f"<bos><|turn>user\n{text}<turn|>\n<|turn>model\n", special=True
    )


def test_a_turn_is_replayed_to_its_end_of_generation_id(scripted: ScriptedEngine) -> None:
    tok = scripted.tokenizer
    scripted.add_text(CALL, "It says hello.<turn|>")
    prompt = prompt_of(scripted, "read a.py")
    out = list(scripted.generate(GenerationRequest(prompt)))
    # Real Gemma 4 ids: the call opens with the control token and ends where
    # the model stops for the tool's response (an end-of-generation id).
    assert [t.id for t in out] == tok.tokenize(CALL, special=True)
    assert out[0].id == tok.token_id("<|tool_call>") and tok.is_control(out[0].id)
    assert out[-1].id == tok.token_id("<|tool_response>") in tok.eos_ids
    assert b"".join(t.piece for t in out).decode() == CALL
    stats = scripted.last_stats
    assert (stats.prompt_tokens, stats.reused_tokens, stats.evaluated_tokens) == (
        len(prompt),
        0,
        len(prompt),
    )
    assert (stats.generated_tokens, stats.stop_reason) == (len(out), StopReason.END_OF_TURN)
    # The stop id was sampled but never fed back.
    assert scripted.cached_tokens == prompt + [t.id for t in out[:-1]]
    assert scripted.pending == 1 and scripted.replayed == 1


def test_the_next_call_reuses_the_common_prefix(scripted: ScriptedEngine) -> None:
    scripted.add_text("one<turn|>", "two<turn|>", "three<turn|>")
    first = prompt_of(scripted, "a")
    out = [t.id for t in scripted.generate(GenerationRequest(first))]
    second = first + out + scripted.tokenizer.tokenize("\n<|turn>user\nb", special=True)
    list(scripted.generate(GenerationRequest(second)))
    stats = scripted.last_stats
    assert stats.reused_tokens == len(first) + len(out) - 1
    assert stats.evaluated_tokens == len(second) - stats.reused_tokens
    # The same prompt again: all but its last token are reused.
    list(scripted.generate(GenerationRequest(second)))
    assert scripted.last_stats.reused_tokens == len(second) - 1
    assert scripted.last_stats.evaluated_tokens == 1


def test_max_tokens_cuts_the_turn_and_drops_its_rest(scripted: ScriptedEngine) -> None:
    scripted.add_text("a b c d e f g<turn|>", "next<turn|>")
    prompt = prompt_of(scripted, "q")
    out = list(scripted.generate(GenerationRequest(prompt, max_tokens=3)))
    assert len(out) == 3 and scripted.last_stats.stop_reason is StopReason.MAX_TOKENS
    assert scripted.cached_tokens == prompt + [t.id for t in out[:2]]
    again = list(scripted.generate(GenerationRequest(prompt)))
    assert b"".join(t.piece for t in again) == b"next<turn|>"


def test_the_context_end_limits_generation(scripted: ScriptedEngine) -> None:
    small = ScriptedEngine(scripted.tokenizer, n_ctx=20)
    small.add_text("a b c d e f g h i j k l m n<turn|>")
    prompt = prompt_of(small, "q")
    out = list(small.generate(GenerationRequest(prompt, max_tokens=100)))
    assert len(out) == 20 - len(prompt) - 1
    assert small.last_stats.stop_reason is StopReason.MAX_TOKENS


def test_request_stop_ids_stop_it(scripted: ScriptedEngine) -> None:
    tok = scripted.tokenizer
    scripted.add_text("before<tool_call|>after<turn|>")
    stop = tok.token_id("<tool_call|>")
    assert stop is not None and stop not in tok.eos_ids
    out = list(
        scripted.generate(GenerationRequest(prompt_of(scripted, "q"), stop_ids=frozenset({stop})))
    )
    assert out[-1].id == stop and scripted.last_stats.stop_reason is StopReason.END_OF_TURN


def test_cancel_stops_within_one_token(scripted: ScriptedEngine) -> None:
    scripted.add_text("a b c d e f g<turn|>")
    cancel = CancelToken()
    prompt = prompt_of(scripted, "q")
    out = []
    for token in scripted.generate(GenerationRequest(prompt), cancel):
        out.append(token.id)
        if len(out) == 2:
            cancel.cancel()
    assert len(out) == 2
    stats = scripted.last_stats
    assert (stats.stop_reason, stats.generated_tokens) == (StopReason.CANCELLED, 2)
    assert scripted.cached_tokens == prompt + out  # both were fed back before the check


def test_closing_the_generator_stops_it_as_the_end_of_the_turn(
    scripted: ScriptedEngine,
) -> None:
    scripted.add_text("a b c d e f g<turn|>")
    prompt = prompt_of(scripted, "q")
    tokens = scripted.generate(GenerationRequest(prompt))
    out = [next(tokens).id, next(tokens).id]
    tokens.close()
    stats = scripted.last_stats
    assert (stats.stop_reason, stats.generated_tokens) == (StopReason.END_OF_TURN, 2)
    assert scripted.cached_tokens == prompt + out[:1]  # the last one was never fed back


def test_a_zero_token_call_consumes_no_turn(scripted: ScriptedEngine) -> None:
    scripted.add_text("hi<turn|>")
    prompt = prompt_of(scripted, "q")
    assert list(scripted.generate(GenerationRequest(prompt, max_tokens=0, cache_boundary=3))) == []
    assert scripted.last_stats.stop_reason is StopReason.MAX_TOKENS and scripted.pending == 1
    assert scripted.requests[0].cache_boundary == 3


def test_every_request_is_recorded(scripted: ScriptedEngine, tmp_path: Path) -> None:
    engine = ScriptedEngine(
        scripted.tokenizer, trace=TraceWriter(tmp_path / "t.jsonl"), path=Path("m.gguf")
    )
    engine.add_text("x<turn|>")
    grammar = GrammarSpec('root ::= "x"')
    sampling = SamplingParams(temperature=0.0, seed=7)
    prompt = prompt_of(engine, "q")
    list(engine.generate(GenerationRequest(prompt, sampling=sampling, grammar=grammar)))
    (request,) = engine.requests
    assert list(request.prompt) == prompt
    assert request.grammar is grammar and request.sampling is sampling
    (entry,) = read_trace(tmp_path / "t.jsonl")
    assert entry["model"] == "m.gguf" and entry["prompt_ids"] == prompt
    assert entry["generated_ids"] == engine.tokenizer.tokenize("x<turn|>", special=True)


def test_the_script_is_strict(scripted: ScriptedEngine) -> None:
    prompt = prompt_of(scripted, "q")
    with pytest.raises(ScriptError, match="model call 1 has no scripted turn left"):
        list(scripted.generate(GenerationRequest(prompt)))
    scripted.add_text("no end")
    with pytest.raises(ScriptError, match="without an end-of-generation or stop id"):
        list(scripted.generate(GenerationRequest(prompt)))
    with pytest.raises(ValueError, match="empty prompt"):
        scripted.generate(GenerationRequest([]))
    with pytest.raises(ModelLoadError, match="does not fit the 4096-token context"):
        scripted.generate(GenerationRequest([2] * 4096))


def test_from_vocab_carries_the_models_template(gemma4_vocab_engine: ScriptedEngine) -> None:
    template = gemma4_vocab_engine.chat_template
    assert template is not None and "<|tool_call>" in template
    assert gemma4_vocab_engine.metadata["general.architecture"] == "gemma4"


def test_stats_match_the_real_engine(tiny_gemma4_path: Path, scripted: ScriptedEngine) -> None:
    """Real inference: four calls (cold, extended, diverging, repeated) on the
    tiny Gemma 4, then the same calls replaying its output."""
    real = LlamaEngine.load(
        tiny_gemma4_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=512, n_batch=64)
    )
    try:
        tok = real.tokenizer
        first = prompt_of(scripted, "hello there")
        plan: list[tuple[list[int] | None, int]] = [(first, 6), (None, 4), (first[:5], 5)]
        greedy = SamplingParams(temperature=0.0)
        real_stats, real_cache, prompts, outputs = [], [], [], []
        for prompt, max_tokens in [*plan, (None, 3)]:
            if prompt is None:  # extend everything so far, or repeat the last prompt
                prompt = (
                    prompts[-1] + outputs[-1] + tok.tokenize("more", special=False)
                    if len(prompts) == 1
                    else prompts[-1]
                )
            request = GenerationRequest(prompt, max_tokens=max_tokens, sampling=greedy)
            outputs.append([t.id for t in real.generate(request)])
            prompts.append(prompt)
            real_stats.append(real.last_stats)
            real_cache.append(real.cached_tokens)
    finally:
        real.close()
    scripted.add_turns(*outputs)
    for i, prompt in enumerate(prompts):
        request = GenerationRequest(prompt, max_tokens=[6, 4, 5, 3][i], sampling=greedy)
        assert [t.id for t in scripted.generate(request)] == outputs[i]
        got, want = scripted.last_stats, real_stats[i]
        fields = ("prompt_tokens", "reused_tokens", "evaluated_tokens", "generated_tokens")
        assert [getattr(got, f) for f in fields] == [getattr(want, f) for f in fields], i
        assert got.stop_reason == want.stop_reason, i
        assert scripted.cached_tokens == real_cache[i], i
    assert [s.reused_tokens for s in real_stats][2:] == [5 - 1, len(prompts[3]) - 1]
