"""The prompt prefix stays stable across turns, so the KV cache is re-used:
read from the trace of a real three-turn chat (SmolLM2). And across processes
the disk prefix cache restores the system prompt and repo context."""

from __future__ import annotations

import itertools
from pathlib import Path

from assistant.agent.loop import AgentConfig, ToolStep
from assistant.llm.engine import SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.trace import TraceWriter, read_trace
from assistant.protocols import ToolChoice, ToolChoiceMode
from tests.agent.conftest import Recorder, build_agent
from tests.conftest import ENGINE_THREADS

NO_TOOLS = (ToolStep(ToolChoice(ToolChoiceMode.NONE)),)


def test_turns_two_and_three_evaluate_only_their_new_tokens(
    smollm2_path: Path, demo_repo: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.jsonl"
    engine = LlamaEngine.load(
        smollm2_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=4096), TraceWriter(trace)
    )
    try:
        config = AgentConfig(
            max_steps=1, max_tokens=16, sampling=SamplingParams(temperature=0), plan=NO_TOOLS
        )
        agent = build_agent(engine, demo_repo, config, mode="chat")
        for question in ("What is this project?", "Which file stores tasks?", "Thanks!"):
            agent.run(question, Recorder())
    finally:
        engine.close()
    calls = read_trace(trace)
    assert len(calls) == 3
    first = calls[0]
    assert first["evaluated_tokens"] == len(first["prompt_ids"])  # a cold start
    for before, call in itertools.pairwise(calls):
        previous = before["prompt_ids"] + before["generated_ids"]
        prompt = call["prompt_ids"]
        # Append-only: the new prompt extends everything the model saw and said.
        assert prompt[: len(previous)] == previous
        new = len(prompt) - len(previous)
        # Only the new tokens are evaluated (+1: the last generated token was
        # sampled but never fed back before the turn ended).
        assert call["reused_tokens"] == len(previous) - 1
        assert call["evaluated_tokens"] == new + 1
        assert call["evaluated_tokens"] < 0.2 * len(prompt)


def test_second_process_loads_the_prefix_from_disk(
    smollm2_path: Path, demo_repo: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "prefix-cache"
    config = AgentConfig(
        max_steps=1, max_tokens=4, sampling=SamplingParams(temperature=0), plan=NO_TOOLS
    )
    stats = []
    for question in ("Where are tasks saved?", "How do I add a task?"):
        engine = LlamaEngine.load(
            smollm2_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=4096, prefix_cache_dir=cache)
        )
        try:
            agent = build_agent(engine, demo_repo, config)
            agent.warm_up()
            prefix_stats = engine.last_stats
            result = agent.run(question, Recorder())
            stats.append((prefix_stats, result.stats, agent.session.cache_boundary))
        finally:
            engine.close()
    (warm1, turn1, boundary1), (warm2, turn2, boundary2) = stats
    assert boundary1 == boundary2 > 0
    assert warm1.loaded_tokens == 0 and turn1.loaded_tokens == 0
    assert warm2.loaded_tokens > 0  # the system prefix alone, saved by the first warm-up
    # The second command restores the system prompt and the repository context
    # (up to the boundary before the question) instead of evaluating them.
    assert turn2.loaded_tokens == boundary2
    assert turn2.evaluated_tokens < turn1.evaluated_tokens / 3
