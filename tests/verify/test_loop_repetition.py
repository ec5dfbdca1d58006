"""The agent loop on a looping answer (ScriptedEngine over the real Gemma 4
vocab): the engine stops it, the turn ends as done with the answer so far,
and a notice says how many tokens were saved."""

from __future__ import annotations

from pathlib import Path

from assistant.agent.loop import AgentConfig
from assistant.events import Notice, Outcome, TurnFinished
from assistant.llm.engine import SamplingParams, StopReason
from assistant.llm.repetition import RepetitionLimit
from assistant.llm.scripted import ScriptedEngine
from tests.agent.conftest import Recorder, build_agent, make_repo


def test_a_looping_answer_ends_the_turn_as_done(scripted: ScriptedEngine, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    scripted.add_text("Tasks are saved in JSON. " + "The store saves the tasks. " * 80)
    config = AgentConfig(
        max_steps=1,
        max_tokens=600,
        sampling=SamplingParams(temperature=0.0),
        repetition=RepetitionLimit(),
    )
    agent = build_agent(scripted, repo, config)
    events = Recorder()
    result = agent.run("How are tasks saved?", events)
    assert isinstance(result, TurnFinished) and result.outcome is Outcome.DONE
    assert result.answer.startswith("Tasks are saved in JSON.")
    stats = scripted.last_stats
    assert stats.stop_reason is StopReason.REPETITION and stats.saved_tokens > 300
    notes = [n.text for n in events.of(Notice)]
    assert any("repeating itself" in n and f"{stats.saved_tokens} tokens saved" in n for n in notes)
