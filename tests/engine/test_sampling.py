"""The grammar-aware sampler on a real vocabulary: lazy triggers by token and
by text pattern, and the check-one-token-first fast path."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from assistant.llm.engine import GenerationRequest, GrammarSpec, SamplingParams
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.sampling import Sampler
from assistant.protocols import make_protocol
from assistant.toolspec import ToolSpec

READ = ToolSpec(
    "read_file",
    "Read a file.",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


@pytest.fixture(scope="module")
def smol(smollm2_path: Path) -> LlamaEngine:
    return LlamaEngine.load(smollm2_path, EngineConfig(n_ctx=1024))


def feed(sampler: Sampler, ids: list[int]) -> None:
    for token in ids:
        assert sampler._grammar_allows(token)
        llama_cpp.llama_sampler_accept(sampler._grammar, token)


def test_text_pattern_trigger_constrains_only_after_the_opener(smol: LlamaEngine) -> None:
    protocol = make_protocol(smol.tokenizer, smol.chat_template, smol.metadata)
    spec = protocol.grammar([READ], "auto")
    assert spec is not None and spec.trigger_texts and not spec.trigger_ids
    tok = smol.tokenizer
    sampler = Sampler(smol._llama, SamplingParams(), spec, 0, tok.piece)
    hello = tok.tokenize("Hello")[0]
    for token in tok.tokenize("Sure, calling it. <tool_call"):
        sampler._watch_for_trigger(token)
    assert sampler._grammar is None  # free text until the opener is complete
    for token in tok.tokenize(">"):
        sampler._watch_for_trigger(token)
    assert sampler._grammar is not None  # now inside the call grammar
    assert not sampler._grammar_allows(hello)
    assert sampler._grammar_allows(tok.tokenize("\n")[0])
    feed(sampler, tok.tokenize('\n{"name":"read_file","arguments":{"path":"a.py"}}\n</tool_call>'))
    sampler.close()


def test_grammar_from_the_first_token_forces_valid_output(smol: LlamaEngine) -> None:
    spec = GrammarSpec(gbnf='root ::= "yes" | "no"')
    prompt = smol.tokenizer.tokenize(
        "<|im_start|>user\nWrite a poem.<|im_end|>\n<|im_start|>assistant\n", special=True
    )
    out = list(smol.generate(GenerationRequest(prompt, 8, SamplingParams(seed=1), grammar=spec)))
    text = smol.tokenizer.detokenize([t.id for t in out if t.id not in smol.tokenizer.eos_ids])
    assert text in ("yes", "no")
