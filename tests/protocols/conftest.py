"""Fixtures for the protocol tests: the real Gemma 4 vocabulary (vocab-only GGUF)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

SDIST_VOCAB = Path(
    "/tmp/dl/llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-gemma-4.gguf"
)


def find_gemma4_vocab() -> Path | None:
    """The vocab-only Gemma 4 GGUF: $ASSISTANT_GEMMA4_VOCAB, the test-model cache,
    or the unpacked llama-cpp-python sdist."""
    env = os.environ.get("ASSISTANT_GEMMA4_VOCAB")
    candidates = [Path(env)] if env else []
    try:
        from tests.fixtures.build_models import GEMMA4_VOCAB, default_cache_dir

        candidates.append(default_cache_dir() / GEMMA4_VOCAB)
    except Exception:  # the fixture module is optional here
        pass
    candidates.append(SDIST_VOCAB)
    for path in candidates:
        if path.is_file():
            return path
    return None


@pytest.fixture(scope="session")
def gemma4_vocab_path() -> Path:
    path = find_gemma4_vocab()
    if path is None:
        pytest.skip("Gemma 4 vocab GGUF not found (set ASSISTANT_GEMMA4_VOCAB)")
    return path


@pytest.fixture(scope="session")
def gemma4_llama(gemma4_vocab_path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(model_path=str(gemma4_vocab_path), vocab_only=True, verbose=False)


@pytest.fixture(scope="session")
def gemma4_tokenizer(gemma4_llama: Any) -> Any:
    from assistant.llama_tokenizer import LlamaTokenizer

    return LlamaTokenizer(gemma4_llama)


@pytest.fixture(scope="session")
def gemma4_template(gemma4_llama: Any) -> str:
    return str(gemma4_llama.metadata["tokenizer.chat_template"])


@pytest.fixture(scope="session")
def gemma4(gemma4_tokenizer: Any) -> Any:
    from assistant.protocols.gemma4 import Gemma4Protocol

    return Gemma4Protocol(gemma4_tokenizer)
