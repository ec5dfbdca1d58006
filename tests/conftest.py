"""Shared fixtures: the two small real models, and a private home for every
test session so no test reads or writes the user's own config, cache or data."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.llm.scripted import ScriptedEngine
from tests.fixtures.build_models import ensure_models

# llama.cpp threads for every test engine. With two threads, each token waits
# at barriers for both; on a loaded 2-core machine the other thread is often
# descheduled, and generation measured 40x slower (73 s against 1.8 s for 30
# SmolLM2 tokens at load 11). One thread never waits for another.
ENGINE_THREADS = 1


@pytest.fixture(scope="session")
def test_models() -> dict[str, Path]:
    return ensure_models()


@pytest.fixture(scope="session")
def tiny_gemma4_path(test_models: dict[str, Path]) -> Path:
    return test_models["tiny_gemma4"]


@pytest.fixture(scope="session")
def smollm2_path(test_models: dict[str, Path]) -> Path:
    return test_models["smollm2"]


@pytest.fixture(scope="session")
def gemma4_vocab_path(test_models: dict[str, Path]) -> Path:
    return test_models["gemma4_vocab"]


@pytest.fixture(scope="session")
def gemma4_vocab_engine(gemma4_vocab_path: Path) -> ScriptedEngine:
    """The real Gemma 4 vocabulary, chat template and metadata, loaded once."""
    return ScriptedEngine.from_vocab(gemma4_vocab_path)


@pytest.fixture
def scripted(gemma4_vocab_engine: ScriptedEngine) -> ScriptedEngine:
    """A fresh `ScriptedEngine` (empty script, 4096-token context) over the real
    Gemma 4 tokenizer: add the model's turns with `add_text`/`add_turns`."""
    base = gemma4_vocab_engine
    return ScriptedEngine(
        base.tokenizer,
        n_ctx=4096,
        chat_template=base.chat_template,
        metadata=base.metadata,
        path=base.path,
    )


@pytest.fixture(autouse=True, scope="session")
def _private_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(
        {
            "ASSISTANT_CACHE_DIR": str(home / "cache"),
            "ASSISTANT_DATA_DIR": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "HF_HUB_OFFLINE": "1",
            "ASSISTANT_THREADS": str(ENGINE_THREADS),  # for the CLI in subprocesses
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.com",
        }
    )
    for key in (
        "ASSISTANT_MODEL",
        "ASSISTANT_CTX",
        "ASSISTANT_APPROVAL",
        "ASSISTANT_EXTRA_BUFFERS",
    ):
        os.environ.pop(key, None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_ENV = (
    "ASSISTANT_CACHE_DIR",
    "ASSISTANT_DATA_DIR",
    "XDG_CONFIG_HOME",
    "HF_HUB_OFFLINE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "ASSISTANT_MODEL",
    "ASSISTANT_CTX",
    "ASSISTANT_APPROVAL",
    "ASSISTANT_THREADS",
    "ASSISTANT_EXTRA_BUFFERS",
)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real, empty git repository in a temp dir."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    return repo
