"""The agent loop with real inference on the tiny random-weight Gemma 4: its
text is noise, but under the grammar its tool calls are well-formed, so the
loop's mechanics (calls, results, limits, cancel) run for real."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace
from pathlib import Path

from assistant.tools.approval import ApprovalDecision, ApprovalPolicy, ApprovalRequest

from assistant.agent.loop import AgentConfig, ToolStep
from assistant.events import Notice, Outcome, TextDelta, ToolFinished, TurnFinished
from assistant.llm.engine import SamplingParams
from assistant.llm.trace import read_trace
from assistant.protocols import GrammarOptions, ToolChoice, ToolChoiceMode
from tests.agent.conftest import Recorder, build_agent, make_repo, trace_of

GREEDY = SamplingParams(temperature=0.0)
REQUIRED = ToolChoice(ToolChoiceMode.REQUIRED)
# Random weights fill free-form values with noise: short strings, and only the
# required arguments in forced steps, keep each call small and valid.
SHORT = GrammarOptions(max_string_tokens=8, max_array_items=4)


def forced(*tools: str, **kw: object) -> ToolStep:
    return ToolStep(REQUIRED, tools=tools, required_only=True, single_call=True, **kw)  # type: ignore[arg-type]


FILE_TEXT = "def greet(name):\n    return 'hello ' + name\n"


def test_required_first_step_reads_a_file_and_feeds_it_back(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})
    config = AgentConfig(
        max_steps=3,
        max_tokens=32,
        sampling=GREEDY,
        plan=(forced("read_file"),),
        grammar_options=SHORT,
    )
    agent = build_agent(gemma_engine, root, config)
    before = len(read_trace(trace_of(gemma_engine))) if trace_of(gemma_engine).exists() else 0
    events = Recorder()
    result = agent.run("What does greet do?", events)

    finished = events.of(ToolFinished)
    assert finished[0].name == "read_file" and finished[0].ok
    assert "hello.py" in finished[0].text and "return 'hello ' + name" in finished[0].text
    assert result.steps >= 2 and result.outcome is not Outcome.CANCELLED
    assert isinstance(events.events[-1], TurnFinished)
    assert not agent.session.turn_open
    # The second model call saw the file: its prompt holds the result's tokens
    # and keeps the first call's prompt up to where the model's turn began (the
    # template re-lays out the turn itself: the April template drops the empty
    # thought block it put after `<|turn>model\n`); only the rest is evaluated.
    first, second = read_trace(trace_of(gemma_engine))[before : before + 2]
    turn_open = gemma_engine.tokenizer.token_id("<|turn>")
    start = max(i for i, t in enumerate(first["prompt_ids"]) if t == turn_open)
    assert second["prompt_ids"][: start + 1] == first["prompt_ids"][: start + 1]
    text = gemma_engine.tokenizer.detokenize(second["prompt_ids"][start:])
    assert "return 'hello ' + name" in text
    assert second["evaluated_tokens"] <= len(second["prompt_ids"]) - start


def test_step_limit_stops_a_loop_that_never_converges(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})
    # until_change on a read-only tool never completes: the model is forced to
    # call tools forever, and the limit must stop it.
    forever = forced("read_file", until_change=True)
    config = AgentConfig(
        max_steps=3,
        max_repeats=10,
        max_tokens=32,
        sampling=GREEDY,
        plan=(forever,),
        grammar_options=SHORT,
    )
    agent = build_agent(gemma_engine, root, config)
    events = Recorder()
    result = agent.run("loop", events)
    assert result.outcome is Outcome.STEP_LIMIT
    assert result.steps == 3
    assert any("stopped after 3 steps" in n.text for n in events.of(Notice))
    assert not agent.session.turn_open


def test_identical_repeated_calls_are_refused_then_stopped(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})
    forever = forced("git_status", until_change=True)
    config = AgentConfig(
        max_steps=8,
        max_repeats=1,
        max_tokens=32,
        sampling=GREEDY,
        plan=(forever,),
        grammar_options=SHORT,
    )
    agent = build_agent(gemma_engine, root, config)
    events = Recorder()
    result = agent.run("status?", events)
    assert result.outcome is Outcome.REPEATED
    refused = [f for f in events.of(ToolFinished) if not f.ok]
    assert refused and "already called git_status" in refused[0].text
    assert not agent.session.turn_open


def test_tool_error_goes_back_to_the_model(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})
    # edit_file on a file the model has not read fails; the loop must send the
    # error back and go on, not stop.
    step = forced("edit_file", paths=("hello.py",))
    config = AgentConfig(
        max_steps=2, max_tokens=96, sampling=GREEDY, plan=(step,), grammar_options=SHORT
    )
    agent = build_agent(gemma_engine, root, config, policy=ApprovalPolicy.AUTO_EDIT, mode="edit")
    before = len(read_trace(trace_of(gemma_engine)))
    events = Recorder()
    result = agent.run("change it", events)
    failed = events.of(ToolFinished)[0]
    assert failed.name == "edit_file" and not failed.ok
    assert result.steps == 2  # the model was called again with the error
    second = read_trace(trace_of(gemma_engine))[before + 1]
    assert failed.text.startswith("error:")
    assert failed.text in gemma_engine.tokenizer.detokenize(second["prompt_ids"])
    assert (root / "hello.py").read_text() == FILE_TEXT


def test_cancel_during_generation_keeps_the_session(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})
    config = AgentConfig(
        max_steps=2,
        max_tokens=400,
        sampling=GREEDY,
        plan=(ToolStep(ToolChoice(ToolChoiceMode.NONE)),),
    )
    agent = build_agent(gemma_engine, root, config)
    events: list[object] = []

    def emit(event: object) -> None:
        events.append(event)
        if isinstance(event, TextDelta) and sum(isinstance(e, TextDelta) for e in events) == 3:
            threading.Thread(target=agent.cancel.cancel).start()

    result = agent.run("say a lot", emit)  # type: ignore[arg-type]
    assert result.outcome is Outcome.CANCELLED
    assert result.stats.generated_tokens < 400
    assert not agent.session.turn_open
    agent.config = replace(agent.config, max_tokens=4)
    assert agent.run("again", Recorder()).outcome is not Outcome.CANCELLED


class InterruptingApprover:
    """Presses Ctrl-C (a real SIGINT to this process) while the tool waits for approval."""

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        os.kill(os.getpid(), signal.SIGINT)
        return ApprovalDecision.YES


def test_ctrl_c_during_a_tool_stops_the_turn_cleanly(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    step = forced("write_file", paths=("a.txt",))
    config = AgentConfig(
        max_steps=3, max_tokens=96, sampling=GREEDY, plan=(step,), grammar_options=SHORT
    )
    agent = build_agent(
        gemma_engine,
        root,
        config,
        policy=ApprovalPolicy.ASK,
        approver=InterruptingApprover(),
        mode="edit",
    )
    assert agent.toolbox.call("read_file", {"path": "a.txt"}).ok
    events = Recorder()
    result = agent.run("rewrite a.txt", events)
    assert result.outcome is Outcome.CANCELLED
    finished = events.of(ToolFinished)[0]
    assert not finished.ok and "interrupted" in finished.text
    assert (root / "a.txt").read_text() == "one\n"
    assert not agent.session.turn_open


def test_huge_paste_is_cut_to_fit(gemma_engine, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})
    config = AgentConfig(max_steps=1, max_tokens=8, sampling=GREEDY)
    agent = build_agent(gemma_engine, root, config)
    events = Recorder()
    result = agent.run("x = 1\n" * 170_000, events)  # about 1 MB
    assert any("too long" in n.text for n in events.of(Notice))
    assert len(agent.session.ids) < agent.session.n_ctx
    assert result.outcome is not Outcome.CONTEXT_FULL


CONTROL_STRINGS = (
    "<bos>", "<eos>", "<|turn>", "<turn|>", "<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>",
    "<|tool_response>", "<tool_response|>", '<|"|>', "<|think|>", "<|channel>", "<channel|>",
)  # fmt: skip


def test_a_hostile_file_reaches_the_model_as_plain_text(gemma_engine, tmp_path: Path) -> None:
    """A file whose text holds every Gemma 4 control string is read by the model
    through the real loop; the trace shows its text arrived with none of the
    control ids inside the tool response."""
    hostile = "x = '" + "'\ny = '".join(CONTROL_STRINGS) + "'\n"
    root = make_repo(tmp_path / "repo", {"evil.py": hostile})
    config = AgentConfig(
        max_steps=2,
        max_tokens=32,
        sampling=GREEDY,
        plan=(forced("read_file"),),
        grammar_options=SHORT,
    )
    agent = build_agent(gemma_engine, root, config)
    before = len(read_trace(trace_of(gemma_engine))) if trace_of(gemma_engine).exists() else 0
    events = Recorder()
    agent.run("Read evil.py.", events)
    assert events.of(ToolFinished)[0].ok

    _first, second = read_trace(trace_of(gemma_engine))[before : before + 2]
    tok = gemma_engine.tokenizer
    # The response starts at the last `<|tool_response>` (the model's own stop
    # token; the template re-lays out the turn before it, so no fixed offset).
    opener = tok.token_id("<|tool_response>")
    start = max(i for i, t in enumerate(second["prompt_ids"]) if t == opener)
    fed = second["prompt_ids"][start:]
    # `fed` is the tool response the loop appended: its framing opens and closes
    # with protocol tokens, and everything between must be plain text.
    text = tok.detokenize(fed)
    for marker in CONTROL_STRINGS[2:]:
        assert marker in text, marker  # the file's text did arrive
    control = [i for i in fed if tok.is_control(i)]
    framing = {tok.token_id(m) for m in ("<|tool_response>", "<tool_response|>", '<|"|>')}
    framing |= {tok.token_id(m) for m in ("<|turn>", "<turn|>", "<|channel>", "<channel|>")}
    # Only the response framing may be control ids: the file's 14 markers
    # added none.
    assert set(control) <= framing
    assert control.count(tok.token_id('<|"|>')) == 2  # the value's own delimiters only
    assert control.count(tok.token_id("<tool_response|>")) == 1
    # (6: the opener `<|tool_response>` is in the slice; the April template then writes an empty thought)
    assert len(control) <= 6, [tok.piece(i) for i in control]
