"""Real inference: the tiny random Gemma 4 under `tool_choice=required` emits
calls that all parse and validate, through the real tokenizer and sampler."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from assistant.events import ToolCall, ToolCallError
from assistant.llm.engine import GenerationRequest, SamplingParams
from assistant.protocols.base import GrammarOptions, Message, Role
from assistant.protocols.gemma4 import Gemma4Protocol
from assistant.protocols.schema import validate
from tests.conftest import ENGINE_THREADS
from tests.protocols.tools_fixture import TOOLS

N_CALLS = int(os.environ.get("ASSISTANT_TINY_CALLS", "100"))
# A random model never chooses to close a string or an array: bound them.
BOUNDS = GrammarOptions(
    max_string_tokens=4, max_array_items=2, max_number_digits=4, parallel_calls=False
)


@pytest.fixture(scope="module")
def tiny_engine(tiny_gemma4_path: Path) -> Any:
    engine_mod = pytest.importorskip("assistant.llm.llama")
    engine = engine_mod.LlamaEngine.load(
        tiny_gemma4_path, engine_mod.EngineConfig(n_threads=ENGINE_THREADS, n_ctx=1024, seed=0)
    )
    yield engine
    engine.close()


@pytest.mark.slow
def test_required_calls_all_parse_and_validate(tiny_engine: Any) -> None:
    proto = Gemma4Protocol(tiny_engine.tokenizer, tiny_engine.chat_template)
    messages = [Message(Role.SYSTEM, "You call tools."), Message(Role.USER, "Do something.")]
    prompt = proto.render_messages(messages, TOOLS, False)
    grammar = proto.grammar(TOOLS, "required", options=BOUNDS)
    schemas = {t.name: t.parameters for t in TOOLS}
    calls: list[ToolCall] = []
    seed = 0
    while len(calls) < N_CALLS:
        parser = proto.new_parser(TOOLS)
        request = GenerationRequest(
            prompt,
            max_tokens=200,
            sampling=SamplingParams(temperature=1.0, seed=seed),
            grammar=grammar,
            stop_ids=proto.stop_ids,
        )
        events = []
        for token in tiny_engine.generate(request):
            events += parser.feed(token)
        events += parser.finish()
        errors = [e for e in events if isinstance(e, ToolCallError)]
        assert not errors, errors
        new = [e for e in events if isinstance(e, ToolCall)]
        assert len(new) == 1, events
        calls += new
        seed += 1
    assert len(calls) == N_CALLS
    for call in calls:
        assert validate(call.arguments, schemas[call.name]) == []
    assert len({c.name for c in calls}) >= 2  # the sampler really chose among the tools
