"""The grammar-aware sampler through the engine's public interface, on a real
model (SmolLM2) and vocabulary: a lazy grammar triggered by a text pattern
leaves the model free until the opener, then forces a valid call; a grammar
from the first token admits only its own strings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.llm.engine import GenerationRequest, GrammarSpec, SamplingParams, StopReason
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.protocols import make_protocol
from assistant.toolspec import ToolSpec
from tests.conftest import ENGINE_THREADS

READ = ToolSpec(
    "read_file",
    "Read a file.",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
GREEDY = SamplingParams(temperature=0.0)


@pytest.fixture(scope="module")
def smol(smollm2_path: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine.load(smollm2_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=1024))
    yield engine
    engine.close()


def generate(engine: LlamaEngine, prompt: list[int], grammar: GrammarSpec | None) -> str:
    request = GenerationRequest(prompt, 40, GREEDY, grammar=grammar)
    return engine.tokenizer.detokenize([t.id for t in engine.generate(request)])


def test_text_pattern_trigger_constrains_only_after_the_opener(smol: LlamaEngine) -> None:
    protocol = make_protocol(smol.tokenizer, smol.chat_template, smol.metadata)
    spec = protocol.grammar([READ], "auto")
    assert spec is not None and spec.trigger_texts == ("<tool_call>",) and not spec.trigger_ids
    # A prompt the model copies greedily: free text, then a call with the
    # wrong argument name ("file"; the tool declares "path").
    line = 'Sure. <tool_call>\n{"name":"read_file","arguments":{"file":"a.py"}}\n</tool_call>\n'
    prompt = smol.tokenizer.tokenize(line * 8)
    free = generate(smol, prompt, None)
    assert free.startswith(line)  # unconstrained, it copies the wrong name
    constrained = generate(smol, prompt, spec)
    # "Sure. " is outside the call grammar (a call starts with the opener):
    # the model stayed free until the opener was complete...
    assert constrained.startswith("Sure. <tool_call>\n")
    # ...and from there the grammar forced the declared argument.
    body = constrained.removeprefix("Sure. <tool_call>\n").split("\n</tool_call>")[0]
    assert json.loads(body) == {"name": "read_file", "arguments": {"path": "a.py"}}
    assert smol.last_stats.generated_tokens == 40  # the grammar did not end it early


def test_grammar_from_the_first_token_forces_valid_output(smol: LlamaEngine) -> None:
    spec = GrammarSpec(gbnf='root ::= "yes" | "no"')
    prompt = smol.tokenizer.tokenize(
        "<|im_start|>user\nWrite a poem.<|im_end|>\n<|im_start|>assistant\n", special=True
    )
    out = list(smol.generate(GenerationRequest(prompt, 8, SamplingParams(seed=1), grammar=spec)))
    tok = smol.tokenizer
    assert tok.detokenize([t.id for t in out[:-1]]) in ("yes", "no")
    # Once the grammar is complete only an end-of-generation id can follow.
    assert out[-1].id in tok.eos_ids and smol.last_stats.stop_reason is StopReason.END_OF_TURN
