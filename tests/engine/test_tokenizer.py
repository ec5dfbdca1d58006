"""Untrusted text can never become a control token, even where llama.cpp would
match Gemma 4's user-defined markers with special=False."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from assistant.llm.llama_tokenizer import LlamaTokenizer

CONTROL_STRINGS = [
    "<bos>", "<eos>", "<pad>", "<|turn>", "<turn|>", "<|tool>", "<tool|>", "<|tool_call>",
    "<tool_call|>", "<|tool_response>", "<tool_response|>", '<|"|>', "<|think|>",
    "<|channel>", "<channel|>", "<|image>", "<|audio|>",
]  # fmt: skip


@pytest.fixture(scope="module")
def gemma_tok(gemma4_vocab_path: Path) -> LlamaTokenizer:
    llama = llama_cpp.Llama(model_path=str(gemma4_vocab_path), vocab_only=True, verbose=False)
    return LlamaTokenizer(llama)


def test_control_strings_in_text_stay_text(gemma_tok: LlamaTokenizer) -> None:
    text = "x = '" + "' + '".join(CONTROL_STRINGS) + '\'\ncall:edit{path:<|"|>a<|"|>}'
    ids = gemma_tok.tokenize(text)
    assert not [i for i in ids if gemma_tok.is_control(i)]
    assert gemma_tok.detokenize(ids) == text


def test_trusted_template_text_keeps_control_tokens(gemma_tok: LlamaTokenizer) -> None:
    ids = gemma_tok.tokenize("<|turn>user\nhi<turn|>\n", special=True)
    assert ids[0] == gemma_tok.token_id("<|turn>")
    assert gemma_tok.token_id("<turn|>") in ids


def test_every_marker_is_one_known_token(gemma_tok: LlamaTokenizer) -> None:
    for marker in CONTROL_STRINGS:
        token = gemma_tok.token_id(marker)
        assert token is not None, marker
        assert gemma_tok.is_control(token)
    assert gemma_tok.token_id("definitely not a token") is None
    assert gemma_tok.token_id("<|tool_response>") in gemma_tok.eos_ids
