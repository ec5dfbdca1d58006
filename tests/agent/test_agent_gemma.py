"""The agent loop with real inference on the tiny random-weight Gemma 4, where
inference is the point: grammar-constrained tool calls that the real sampler
must produce well-formed, KV reuse across steps, and a hostile file reaching
the model as plain text. Its text is noise, but under the grammar its calls
are valid. The loop's other mechanics (limits, repeats, errors, cancel,
Ctrl-C, long input, compaction) are tested exactly in test_loop.py."""

from __future__ import annotations

from pathlib import Path

from assistant.agent.loop import AgentConfig, ToolStep
from assistant.events import Outcome, ToolFinished, TurnFinished
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
    # Both steps are forced, so the noise model makes exactly two valid calls
    # and the step limit ends the turn (no free-text step whose outcome would
    # depend on random weights).
    config = AgentConfig(
        max_steps=2,
        max_tokens=32,
        sampling=GREEDY,
        plan=(forced("read_file"), forced("read_file")),
        grammar_options=SHORT,
    )
    agent = build_agent(gemma_engine, root, config)
    before = len(read_trace(trace_of(gemma_engine))) if trace_of(gemma_engine).exists() else 0
    events = Recorder()
    result = agent.run("What does greet do?", events)

    finished = events.of(ToolFinished)
    assert [(f.name, f.ok) for f in finished] == [("read_file", True), ("read_file", True)]
    assert finished[0].text.startswith("hello.py (lines ")
    assert "return 'hello ' + name" in finished[0].text
    assert (result.outcome, result.steps, result.tool_calls) == (Outcome.STEP_LIMIT, 2, 2)
    assert isinstance(events.events[-1], TurnFinished)
    assert len(read_trace(trace_of(gemma_engine))) == before + 2
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
