"""Session: history rendered by the model's template, the context budget (shorten, then
compact), the cache boundary, save and resume. Real tokenizer and protocol
(the tiny Gemma 4's); the summarizer is a plain function here (the agent's
real one is exercised in test_compaction_with_the_model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from assistant.tools.registry import ALL_TOOLS

from assistant.agent.session import ContextFull, Kind, Session, clip_text, latest_session_file
from assistant.protocols import ToolResult, make_protocol
from assistant.protocols.gemma4 import Gemma4Protocol
from tests.fixtures.build_models import july_template

SPECS = [t.spec for t in ALL_TOOLS if not t.spec.mutates]


def new_session(
    engine, n_ctx: int | None = None, context: str = "Repository map:\na.py"
) -> Session:  # type: ignore[no-untyped-def]
    return Session(
        make_protocol(engine.tokenizer, engine.chat_template, engine.metadata),
        engine.tokenizer,
        n_ctx or engine.n_ctx,
        system="You help.",
        tools=SPECS,
        repo_context=context,
        model_name=engine.path.name,
    )


def model_reply(session: Session, text: str) -> None:
    ids = session.tokenizer.tokenize(text)
    session.add_model(ids, text)


def test_history_extends_when_the_model_writes_what_the_template_would(gemma_engine) -> None:
    """The prompt is always the template's rendering; when the model's output is
    what the template would render, every prompt extends the previous prompt
    plus the generated ids, so the KV cache covers all of it. The July 2026
    layout (derived in tests/fixtures/build_models.py; see the sources cited
    there) continues a turn after tool results without a new turn opener."""
    tok = gemma_engine.tokenizer
    session = new_session(gemma_engine)
    session.protocol = Gemma4Protocol(tok, july_template(gemma_engine.chat_template))
    session.rebuild()
    session.add_user("first question")
    steps = [
        '<|tool_call>call:read_file{path:<|"|>a.py<|"|>}<tool_call|><|tool_response>',
        "It is one line.<turn|>",
    ]
    for i, text in enumerate(steps):
        before = list(session.ids)
        generated = tok.tokenize(text, special=True)
        session.add_model(generated, text)
        if i == 0:
            session.add_tool_results([ToolResult.reply("read_file", "1| x = 1")], generated[-1])
        else:
            session.close_turn()
        assert session.ids[: len(before) + len(generated)] == before + generated
    before = list(session.ids)
    session.add_user("second question")
    assert session.ids[: len(before)] == before
    assert session.segments[-1].kind is Kind.USER and session.turn_open


def test_cache_boundary_covers_the_repo_context_not_the_question(scripted) -> None:
    a, b = new_session(scripted), new_session(scripted)
    a.add_user("Where is the store?")
    b.add_user("Something else entirely")
    assert a.prefix_len < a.cache_boundary == b.cache_boundary
    assert a.ids[: a.cache_boundary] == b.ids[: b.cache_boundary]
    assert a.ids[a.cache_boundary] != b.ids[b.cache_boundary] or len(a.ids) != len(b.ids)
    tail = scripted.tokenizer.detokenize(a.ids[a.cache_boundary :])
    assert "Where is the store?" in tail and "a.py" not in tail


def test_budget_shortens_old_tool_outputs_first_then_compacts(scripted) -> None:
    session = new_session(scripted, n_ctx=3000)
    big = "\n".join(f"{i}| line number {i} of a long file" for i in range(120))
    for turn in range(2):
        session.add_user(f"question {turn}")
        model_reply(session, "let me read")
        session.add_tool_results([ToolResult.reply("read_file", big)], session.ids[-1])
        model_reply(session, "done")
        session.close_turn()
    session.add_user("question 2")
    # A little more room than is free: shortening the oldest output is enough,
    # and the latest one stays whole.
    notes = session.ensure_room(session.free + 100, None)
    assert notes == ["shortened old tool outputs to make room"]
    tools = [s for s in session.segments if s.kind is Kind.TOOLS]
    assert tools[0].shortened and not tools[-1].shortened
    assert "output shortened" in str(tools[0].results[0].content)
    assert "output shortened" in scripted.tokenizer.detokenize(session.ids)
    # Asking for more than shortening can free compacts the finished turns.
    notes = session.ensure_room(2000, lambda transcript: "- the user asked two questions")
    assert "compacted earlier turns into a summary" in notes
    assert session.compactions == 1
    assert [s.kind for s in session.segments] == [Kind.PREFIX, Kind.USER]
    assert "two questions" in scripted.tokenizer.detokenize(session.ids)
    assert "question 2" in scripted.tokenizer.detokenize(session.ids)
    with pytest.raises(ContextFull):
        session.ensure_room(3000, lambda t: "x")


def test_a_huge_paste_is_clipped(scripted) -> None:
    text, cut = clip_text(scripted.tokenizer, "word " * 250_000, 1000)
    assert cut > 100_000 and "input cut here" in text
    session = new_session(scripted, n_ctx=2048)
    assert session.add_user("y = 2\n" * 200_000) > 0
    assert len(session.ids) < 2048


def test_save_and_resume(scripted, tmp_path: Path) -> None:
    session = new_session(scripted)
    session.add_user("hello")
    model_reply(session, "hi there")
    session.close_turn()
    path = tmp_path / "s1" / "chat.json"
    session.save(path)
    assert latest_session_file(tmp_path) == path

    import json

    data = json.loads(path.read_text())
    same = new_session(scripted, context="Repository map:\nb.py (changed)")
    assert same.restore(data)
    assert same.turns == 1
    text = scripted.tokenizer.detokenize(same.ids)
    assert "hi there" in text and "b.py (changed)" in text  # fresh context, old turns
    assert [s.kind for s in same.segments] == [s.kind for s in session.segments]

    data["model"] = "another-model.gguf"
    other = new_session(scripted)
    assert not other.restore(data)
    assert "hello" in other.summary and len(other.segments) == 1
