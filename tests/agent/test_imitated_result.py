"""A model on the generic protocol (SmolLM2's ChatML template, read from the
GGUF) that writes a tool result itself. Its `<tool_response>` tag is plain
text, not an id the engine can stop on, so the agent loop stops generating as
soon as the parser has seen it: what would follow is an invented result that
is dropped anyway (issue 21 (1)), and a 4B model on a CPU would spend seconds
writing it while the user sees nothing.

The engine is a `ScriptedEngine` over SmolLM2's real tokenizer and template, so
the count of generated tokens is exact; the real inference path is in
tests/cli/test_edit_output.py, where SmolLM2 writes the imitation itself."""

from __future__ import annotations

from pathlib import Path

from assistant.agent.loop import AgentConfig
from assistant.events import Notice, Outcome, StopReason, TextDelta, TurnFinished
from assistant.llm.engine import SamplingParams
from assistant.llm.scripted import ScriptedEngine
from assistant.protocols.generic import IMITATED_RESPONSE, GenericProtocol
from tests.agent.conftest import Recorder, build_agent, make_repo

INVENTED = " and then the invented result goes on" * 40


def _run(
    smollm2_path: Path, tmp_path: Path, *turns: str
) -> tuple[ScriptedEngine, Recorder, TurnFinished]:
    engine = ScriptedEngine.from_vocab(smollm2_path)
    engine.add_text(*turns)
    root = make_repo(tmp_path / "repo", {"app.py": "def add(a, b):\n    return a + b\n"})
    agent = build_agent(
        engine, root, AgentConfig(max_steps=2, max_tokens=1024, sampling=SamplingParams(0.0))
    )
    assert isinstance(agent.session.protocol, GenericProtocol)
    events = Recorder()
    result = agent.run("What is in app.py?", events)
    return engine, events, result


def test_generation_stops_at_an_imitated_tool_result(smollm2_path: Path, tmp_path: Path) -> None:
    imitation = '<tool_response>{"name": "read_file", "content": "made up"}</tool_response>'
    engine, events, result = _run(smollm2_path, tmp_path, imitation + INVENTED + "<|im_end|>")
    turn = engine.requests[0]
    stats = engine.last_stats
    written = engine.tokenizer.detokenize(
        engine.tokenizer.tokenize(imitation + INVENTED + "<|im_end|>", special=True)[
            : stats.generated_tokens
        ]
    )
    # Generation ended with the tag's last token, not 400 tokens later.
    assert written.startswith("<tool_response>") and len(written) <= len("<tool_response>") + 2
    assert stats.stop_reason is StopReason.END_OF_TURN
    assert turn.max_tokens > stats.generated_tokens
    # One line says what happened; not also "the model returned an empty answer".
    assert [n.text for n in events.of(Notice)] == [IMITATED_RESPONSE]
    assert not events.of(TextDelta)
    assert result.outcome is Outcome.EMPTY


def test_text_before_the_imitation_is_the_answer(smollm2_path: Path, tmp_path: Path) -> None:
    engine, events, result = _run(
        smollm2_path,
        tmp_path,
        "It adds two numbers.\n<tool_response>{}</tool_response>" + INVENTED + "<|im_end|>",
    )
    assert "".join(e.text for e in events.of(TextDelta)).strip() == "It adds two numbers."
    assert engine.last_stats.generated_tokens < 20
    assert result.outcome is Outcome.DONE
