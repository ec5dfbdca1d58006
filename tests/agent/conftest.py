"""Fixtures for the agent tests: real models (loaded once per module), real
temporary git repositories, and the demo repo copied into a temp dir."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalPolicy, Approver
from assistant.tools.journal import UndoJournal
from assistant.tools.registry import Toolbox

from assistant.agent.context import repo_context, system_text
from assistant.agent.loop import Agent, AgentConfig
from assistant.agent.session import Session
from assistant.events import AgentEvent
from assistant.llm.llama import EngineConfig, LlamaEngine
from assistant.llm.scripted import ScriptedEngine
from assistant.llm.trace import TraceWriter
from assistant.protocols import make_protocol
from tests.conftest import ENGINE_THREADS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo-repo"


# Fixed dates make commit hashes, and so the git context in prompts, repeatable.
GIT_DATES = {
    "GIT_AUTHOR_DATE": "2025-01-01T12:00:00Z",
    "GIT_COMMITTER_DATE": "2025-01-01T12:00:00Z",
}


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_DATES}
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, env=env
    )
    return proc.stdout


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
def demo_repo(tmp_path: Path) -> Path:
    """The demo project as a fresh git repository."""
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture(scope="module")
def gemma_engine(
    tiny_gemma4_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaEngine]:
    trace = tmp_path_factory.mktemp("trace") / "trace.jsonl"
    engine = LlamaEngine.load(
        tiny_gemma4_path,
        EngineConfig(n_threads=ENGINE_THREADS, n_ctx=4096, seed=0),
        TraceWriter(trace),
    )
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def smol_engine(
    smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaEngine]:
    trace = tmp_path_factory.mktemp("trace") / "trace.jsonl"
    engine = LlamaEngine.load(
        smollm2_path, EngineConfig(n_threads=ENGINE_THREADS, n_ctx=4096, seed=0), TraceWriter(trace)
    )
    yield engine
    engine.close()


AgentFactory = Callable[..., Agent]


def build_agent(
    engine: LlamaEngine | ScriptedEngine,
    root: Path,
    config: AgentConfig,
    *,
    policy: ApprovalPolicy = ApprovalPolicy.READ_ONLY,
    approver: Approver | None = None,
    mode: str = "ask",
    map_tokens: int = 256,
    symbol_tools: bool = True,
) -> Agent:
    journal = UndoJournal(root, root.parent / f"journal-{root.name}")
    toolbox = Toolbox(root, policy, approver, journal, symbol_tools=symbol_tools)
    context = repo_context(root, map_tokens)
    session = Session(
        make_protocol(engine.tokenizer, engine.chat_template, engine.metadata),
        engine.tokenizer,
        engine.n_ctx,
        system=system_text(mode, root),
        tools=toolbox.specs(),
        repo_context=context.render(),
        model_name=engine.name,
    )
    return Agent(engine, session, toolbox, config)


class Recorder:
    """Collects the events an agent emits (a real renderer's input)."""

    def __init__(self) -> None:
        self.events: list[AgentEvent] = []

    def __call__(self, event: AgentEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


def call(name: str, **args: str | int) -> str:
    """A Gemma 4 tool call as the model writes it, up to where it stops for the
    response (format: the GGUF chat template's `format_function_call`)."""
    body = ",".join(
        f'{k}:<|"|>{v}<|"|>' if isinstance(v, str) else f"{k}:{v}" for k, v in args.items()
    )
    return f"<|tool_call>call:{name}{{{body}}}<tool_call|><|tool_response>"


def trace_of(engine: LlamaEngine) -> Path:
    assert engine.trace is not None
    return engine.trace.path


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["COLUMNS"] = "160"  # help text wraps at the width of a terminal it does not have
    env.pop("ASSISTANT_MODEL", None)
    return env
