"""The agent loop's mechanics, exactly: tool calls and results, limits,
repeated calls, tool errors, cancel, Ctrl-C, long input, compaction.

The model is a `ScriptedEngine` over the real Gemma 4 tokenizer and chat
template: each turn below is the token ids the real model would emit (the
call syntax is the GGUF template's `format_function_call`), so the protocol,
parser, session, tools and git repositories are all real, and every assertion
can be exact. What only real inference can show (grammar-constrained calls,
KV reuse, injection) is in test_agent_gemma.py and test_kv_reuse.py."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from assistant.tools.approval import ApprovalDecision, ApprovalPolicy, ApprovalRequest

from assistant.agent.loop import AgentConfig, ToolStep
from assistant.agent.session import clip_text
from assistant.events import (
    Done,
    Notice,
    Outcome,
    Progress,
    StepStats,
    StopReason,
    TextDelta,
    ToolCall,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from assistant.llm.engine import SamplingParams
from assistant.llm.scripted import ScriptedEngine, ScriptError
from assistant.protocols import GrammarOptions, ToolChoice, ToolChoiceMode
from tests.agent.conftest import Recorder, build_agent, call, make_repo

GREEDY = SamplingParams(temperature=0.0)
REQUIRED = ToolChoice(ToolChoiceMode.REQUIRED)
SHORT = GrammarOptions(max_string_tokens=8, max_array_items=4)
FILE_TEXT = "def greet(name):\n    return 'hello ' + name\n"
READ_RESULT = "hello.py (lines 1-2 of 2)\n1| def greet(name):\n2|     return 'hello ' + name"


def forced(*tools: str, **kw: object) -> ToolStep:
    return ToolStep(REQUIRED, tools=tools, required_only=True, single_call=True, **kw)  # type: ignore[arg-type]


def config(**kw: object) -> AgentConfig:
    base: dict[str, object] = {
        "max_steps": 3,
        "max_tokens": 64,
        "sampling": GREEDY,
        "grammar_options": SHORT,
    }
    return AgentConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"hello.py": FILE_TEXT})


def test_a_call_runs_and_its_result_goes_back(scripted: ScriptedEngine, repo: Path) -> None:
    tok = scripted.tokenizer
    scripted.add_text(call("read_file", path="hello.py"), "It returns a greeting.<turn|>")
    agent = build_agent(scripted, repo, config(plan=(forced("read_file"),)))
    events = Recorder()
    result = agent.run("What does greet do?", events)

    assert (result.answer, result.outcome, result.steps, result.tool_calls) == (
        "It returns a greeting.",
        Outcome.DONE,
        2,
        1,
    )
    assert [type(e) for e in events.events] == [
        Progress, Progress, ToolCall, Done, StepStats, ToolStarted, ToolFinished,
        Progress, *[TextDelta] * 5, Done, StepStats, TurnFinished,
    ]  # fmt: skip
    # While the call streams the status names it (issue 15), not "reading".
    assert events.of(Progress)[1].message == "writing read_file call"
    assert events.of(ToolCall)[0].arguments == {"path": "hello.py"}
    assert events.of(ToolFinished)[0] == ToolFinished(
        "read_file", {"path": "hello.py"}, True, READ_RESULT, "", "hello.py"
    )
    assert [d.reason for d in events.of(Done)] == [StopReason.TOOL_CALL, StopReason.END_OF_TURN]
    assert scripted.pending == 0 and not agent.session.turn_open

    # The second call's prompt is the template's rendering of the history
    # (the vocab GGUF's April template re-lays out the model's turn: its empty
    # thought block is not replayed). The KV cache holds everything up to the
    # first token that differs from the first prompt plus the generated call,
    # and only the rest is evaluated.
    first, second = (list(r.prompt) for r in scripted.requests)
    generated = tok.tokenize(call("read_file", path="hello.py"), special=True)
    cached = first + generated[:-1]  # the stop id is generated, never evaluated
    same = next(
        (i for i, (a, b) in enumerate(zip(cached, second, strict=False)) if a != b), len(cached)
    )
    assert second[: agent.session.prefix_len] == first[: agent.session.prefix_len]
    assert same >= agent.session.prefix_len
    assert READ_RESULT in tok.detokenize(second[same:])
    one, two = (e.stats for e in events.of(StepStats))
    assert (one.reused_tokens, one.evaluated_tokens) == (0, len(first))
    assert two.reused_tokens == same
    assert two.evaluated_tokens == len(second) - same
    assert events.of(Progress)[2].new_tokens == len(second) - same

    # The forced first step is constrained from its first token to a
    # read_file call on an existing path; the free second step only once the
    # model opens a call.
    forced_grammar, free_grammar = (r.grammar for r in scripted.requests)
    assert forced_grammar is not None and free_grammar is not None
    assert forced_grammar.trigger_ids == frozenset()
    assert '"hello.py"' in forced_grammar.gbnf and "call-read-file" in forced_grammar.gbnf
    assert "call-edit-file" not in forced_grammar.gbnf
    assert free_grammar.trigger_ids == {tok.token_id("<|tool_call>")}
    assert all(r.sampling == GREEDY for r in scripted.requests)
    assert all(r.stop_ids == agent.protocol.stop_ids for r in scripted.requests)
    assert {r.cache_boundary for r in scripted.requests} == {agent.session.cache_boundary}


def test_step_limit_stops_a_loop_that_never_converges(scripted: ScriptedEngine, repo: Path) -> None:
    # until_change on a read-only tool never completes: the model calls tools
    # forever, and the limit stops it after the third step's call has run.
    scripted.add_text(
        call("read_file", path="hello.py"),
        call("read_file", path="hello.py", start_line=1),
        call("read_file", path="hello.py", start_line=2),
    )
    agent = build_agent(
        scripted, repo, config(max_repeats=10, plan=(forced("read_file", until_change=True),))
    )
    events = Recorder()
    result = agent.run("loop", events)
    assert (result.outcome, result.steps, result.tool_calls) == (Outcome.STEP_LIMIT, 3, 3)
    assert [n.text for n in events.of(Notice)] == [
        "stopped after 3 steps: the model kept calling tools without finishing "
        "(raise the limit with --max-steps)"
    ]
    assert [f.ok for f in events.of(ToolFinished)] == [True, True, True]
    assert len(scripted.requests) == 3 and not agent.session.turn_open


def test_identical_repeated_calls_are_refused_then_stopped(
    scripted: ScriptedEngine, repo: Path
) -> None:
    scripted.add_text(*[call("git_status")] * 3)
    agent = build_agent(
        scripted,
        repo,
        config(max_steps=8, max_repeats=1, plan=(forced("git_status", until_change=True),)),
    )
    events = Recorder()
    result = agent.run("status?", events)
    assert (result.outcome, result.steps, result.tool_calls) == (Outcome.REPEATED, 3, 3)
    finished = events.of(ToolFinished)
    assert [f.ok for f in finished] == [True, False]
    assert finished[1].text == (
        "error: you already called git_status with exactly these arguments 1 times; the result "
        "will not change. Use the earlier result, try something different, or give your final "
        "answer."
    )
    assert len(events.of(ToolStarted)) == 1  # the refused and the stopped call never ran
    assert [n.text for n in events.of(Notice)] == [
        "stopped: the model kept repeating the same git_status call"
    ]
    assert len(scripted.requests) == 3 and not agent.session.turn_open


def test_tool_error_goes_back_to_the_model(scripted: ScriptedEngine, repo: Path) -> None:
    # edit_file on a file the model has not read fails; the loop sends the
    # error back and goes on.
    edit = call("edit_file", path="hello.py", old_text="hello", new_text="hi")
    scripted.add_text(edit, "I could not edit it.<turn|>")
    agent = build_agent(
        scripted,
        repo,
        config(plan=(forced("edit_file", paths=("hello.py",)),)),
        policy=ApprovalPolicy.AUTO_EDIT,
        mode="edit",
    )
    events = Recorder()
    result = agent.run("change it", events)
    (failed,) = events.of(ToolFinished)
    assert failed.name == "edit_file" and not failed.ok
    assert failed.text == (
        "error: you have not read hello.py in this session; call read_file on it before you edit it"
    )
    assert (result.outcome, result.steps, result.answer) == (
        Outcome.DONE,
        2,
        "I could not edit it.",
    )
    assert events.of(Notice) == []
    second = scripted.tokenizer.detokenize(list(scripted.requests[1].prompt))
    # The error goes back to the model as the tool's response, last in the prompt.
    reply = second.rsplit("<|tool_response>", 1)[1]
    assert reply.startswith("response:edit_file{") and failed.text in reply
    assert (repo / "hello.py").read_text() == FILE_TEXT


def test_an_unknown_tool_is_an_error_for_the_model(scripted: ScriptedEngine, repo: Path) -> None:
    scripted.add_text(call("delete_everything", path="hello.py"), "Sorry.<turn|>")
    agent = build_agent(scripted, repo, config())
    events = Recorder()
    result = agent.run("clean up", events)
    (finished,) = events.of(ToolFinished)
    assert finished.name == "(invalid call)" and not finished.ok
    assert "delete_everything" in finished.text
    assert (result.outcome, result.steps, result.tool_calls, result.answer) == (
        Outcome.DONE,
        2,
        0,
        "Sorry.",
    )
    assert finished.text in scripted.tokenizer.detokenize(scripted.requests[1].prompt)


def test_cancel_during_generation_keeps_the_session(scripted: ScriptedEngine, repo: Path) -> None:
    scripted.add_text("one two three four five six seven<turn|>", "Fine.<turn|>")
    agent = build_agent(scripted, repo, config(plan=(ToolStep(ToolChoice(ToolChoiceMode.NONE)),)))
    events: list[object] = []

    def emit(event: object) -> None:
        events.append(event)
        if isinstance(event, TextDelta) and sum(isinstance(e, TextDelta) for e in events) == 3:
            agent.cancel.cancel()

    result = agent.run("say a lot", emit)  # type: ignore[arg-type]
    assert (result.outcome, result.answer) == (Outcome.CANCELLED, "one two three")
    assert result.stats.generated_tokens == 3 and result.stats.stop_reason is StopReason.CANCELLED
    assert [e.text for e in events if isinstance(e, Notice)] == ["stopped"]
    assert not agent.session.turn_open
    # The next turn starts clean, after the cancelled one: the stable prefix is
    # re-used and the partial answer stays in the history, as the template lays it out.
    again = agent.run("again", Recorder())
    assert (again.outcome, again.answer) == (Outcome.DONE, "Fine.")
    first, second = (list(r.prompt) for r in scripted.requests)
    prefix = agent.session.prefix_len
    assert second[:prefix] == first[:prefix]
    history = scripted.tokenizer.detokenize(second[prefix:])
    assert history.index("say a lot") < history.index("one two three") < history.index("again")


class InterruptingApprover:
    """Presses Ctrl-C (a real SIGINT to this process) while the tool waits for approval."""

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        os.kill(os.getpid(), signal.SIGINT)
        return ApprovalDecision.YES


def test_ctrl_c_during_a_tool_stops_the_turn_cleanly(
    scripted: ScriptedEngine, tmp_path: Path
) -> None:
    root = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    scripted.add_text(call("write_file", path="a.txt", content="two\n"))
    agent = build_agent(
        scripted,
        root,
        config(plan=(forced("write_file", paths=("a.txt",)),)),
        policy=ApprovalPolicy.ASK,
        approver=InterruptingApprover(),
        mode="edit",
    )
    assert agent.toolbox.call("read_file", {"path": "a.txt"}).ok
    events = Recorder()
    result = agent.run("rewrite a.txt", events)
    assert (result.outcome, result.steps) == (Outcome.CANCELLED, 1)
    (finished,) = events.of(ToolFinished)
    assert not finished.ok
    assert finished.text == "error: write_file was interrupted by the user"
    assert (root / "a.txt").read_text() == "one\n"
    assert len(scripted.requests) == 1 and not agent.session.turn_open


def test_huge_paste_is_cut_to_fit(scripted: ScriptedEngine, repo: Path) -> None:
    scripted.add_text("Got it.<turn|>")
    agent = build_agent(scripted, repo, config(max_steps=1, max_tokens=8))
    events = Recorder()
    paste = "x = 1\n" * 170_000  # about 1 MB
    result = agent.run(paste, events)
    _, cut = clip_text(scripted.tokenizer, paste, agent.session.max_user_tokens())
    assert cut > 100_000
    assert events.of(Notice) == [
        Notice(f"your message was too long: about {cut} tokens were cut", warning=True)
    ]
    assert (result.outcome, result.answer) == (Outcome.DONE, "Got it.")
    prompt = scripted.requests[0].prompt
    assert len(prompt) < scripted.n_ctx - 8
    assert f"input cut here: about {cut} more tokens" in scripted.tokenizer.detokenize(prompt)


def test_the_token_limit_truncates_the_answer(scripted: ScriptedEngine, repo: Path) -> None:
    scripted.add_text("a b c d e f g h i j<turn|>")
    agent = build_agent(scripted, repo, config(max_tokens=4))
    events = Recorder()
    result = agent.run("talk", events)
    assert (result.outcome, result.answer, result.stats.generated_tokens) == (
        Outcome.TRUNCATED,
        "a b c d",
        4,
    )
    assert [n.text for n in events.of(Notice)] == [
        "the answer was cut at the token limit (4 tokens; raise it with --max-tokens)"
    ]
    assert scripted.requests[0].max_tokens == 4


def test_an_empty_answer_is_reported(scripted: ScriptedEngine, repo: Path) -> None:
    scripted.add_text("<turn|>")
    agent = build_agent(scripted, repo, config())
    events = Recorder()
    assert agent.run("hm", events).outcome is Outcome.EMPTY
    assert [n.text for n in events.of(Notice)] == ["the model returned an empty answer"]


def test_long_turns_are_compacted_by_the_models_summary(
    scripted: ScriptedEngine, tmp_path: Path
) -> None:
    """The agent never fails with a context error: long turns in a small
    context get compacted by a summary the model writes (its own one-off
    request: no tools, greedy, `summary_tokens`)."""
    engine = ScriptedEngine(
        scripted.tokenizer,
        n_ctx=2048,
        chat_template=scripted.chat_template,
        metadata=scripted.metadata,
    )
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    agent = build_agent(
        engine,
        root,
        config(
            max_steps=1,
            max_tokens=8,
            summary_tokens=16,
            plan=(ToolStep(ToolChoice(ToolChoiceMode.NONE)),),
        ),
        # The turn counts below are sized to the basic tool declarations.
        symbol_tools=False,
    )
    long = "Please consider this detail carefully. " * 60  # about 370 tokens a turn
    summary = "The user stressed details."
    # Three turns fit 2048 tokens; the fourth must first compact them, so the
    # model is asked for the summary before it answers.
    engine.add_text(
        "Noted 0.<turn|>",
        "Noted 1.<turn|>",
        "Noted 2.<turn|>",
        summary + "<turn|>",
        "Noted 3.<turn|>",
        "Noted 4.<turn|>",
    )
    notices = []
    for turn in range(5):
        events = Recorder()
        result = agent.run(long, events)
        assert (result.outcome, result.answer) == (Outcome.DONE, f"Noted {turn}.")
        assert len(agent.session.ids) < engine.n_ctx
        notices.append([n.text for n in events.of(Notice)])
    assert notices == [[], [], [], ["compacted earlier turns into a summary"], []]
    assert agent.session.compactions == 1 and agent.session.summary == summary
    assert engine.pending == 0
    # The summary request: its own prompt (the compaction instruction and the
    # transcript, no tools), greedy, `summary_tokens` long, no grammar.
    request = engine.requests[3]
    assert (request.max_tokens, request.grammar, request.sampling.temperature) == (16, None, 0.0)
    text = engine.tokenizer.detokenize(request.prompt)
    assert "Noted 2." in text and "<|tool>" not in text
    # The turns after it see the summary in place of the compacted turns.
    after = engine.tokenizer.detokenize(engine.requests[4].prompt)
    assert summary in after and "Noted 0." not in after


def test_a_call_beyond_the_script_is_an_error(scripted: ScriptedEngine, repo: Path) -> None:
    """The script is strict: a loop that calls the model more often than the
    test expects fails loudly instead of passing on invented output."""
    scripted.add_text(call("git_status"))
    agent = build_agent(scripted, repo, config())
    with pytest.raises(ScriptError, match="model call 2 has no scripted turn left"):
        agent.run("status?", Recorder())
