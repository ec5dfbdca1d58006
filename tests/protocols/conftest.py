"""Fixtures for the protocol tests: the real Gemma 4 vocabulary (the vocab-only
GGUF from tests/conftest.py's `gemma4_vocab_path`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def gemma4_llama(gemma4_vocab_path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(model_path=str(gemma4_vocab_path), vocab_only=True, verbose=False)


@pytest.fixture(scope="session")
def gemma4_tokenizer(gemma4_llama: Any) -> Any:
    from assistant.llm.llama_tokenizer import LlamaTokenizer

    return LlamaTokenizer(gemma4_llama)


@pytest.fixture(scope="session")
def gemma4_template(gemma4_llama: Any) -> str:
    return str(gemma4_llama.metadata["tokenizer.chat_template"])


@pytest.fixture(scope="session")
def gemma4(gemma4_tokenizer: Any, gemma4_template: str) -> Any:
    from assistant.protocols.gemma4 import Gemma4Protocol

    return Gemma4Protocol(gemma4_tokenizer, gemma4_template)
