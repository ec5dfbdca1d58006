"""Session: append-only token history, the context budget (shorten, then
compact), the cache boundary, save and resume. Real tokenizer, chat template
and protocol (Gemma 4's, from the vocab GGUF through `ScriptedEngine`; no
weights are loaded); the summarizer is a plain function here (the agent's own
is exercised in test_loop.py's compaction test)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from assistant.tools.registry import ALL_TOOLS

from assistant.agent.session import ContextFull, Kind, Session, clip_text, latest_session_file
from assistant.protocols import ToolResult, make_protocol

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


def test_history_is_append_only(scripted) -> None:
    session = new_session(scripted)
    snapshots = [list(session.ids)]
    session.add_user("first question")
    snapshots.append(list(session.ids))
    model_reply(session, "an answer")
    session.add_tool_results([ToolResult("read_file", "1| x = 1")], session.ids[-1])
    snapshots.append(list(session.ids))
    session.close_turn()
    session.add_user("second question")
    snapshots.append(list(session.ids))
    for shorter, longer in itertools.pairwise(snapshots):
        assert longer[: len(shorter)] == shorter
        assert len(longer) > len(shorter)
    assert session.turn_open and session.turns == 2
    assert [s.kind for s in session.segments] == [
        Kind.PREFIX, Kind.USER, Kind.MODEL, Kind.TOOLS, Kind.CLOSE, Kind.USER,
    ]  # fmt: skip
    # Each segment's ids are what the protocol renders for it, in order.
    assert session.ids == [i for s in session.segments for i in s.ids]


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
        session.add_tool_results([ToolResult("read_file", big)], session.ids[-1])
        model_reply(session, "done")
        session.close_turn()
    session.add_user("question 2")
    # A little more room than is free: shortening the oldest output is enough,
    # and the latest one stays whole.
    notes = session.ensure_room(session.free + 100, None)
    assert notes == ["shortened old tool outputs to make room"]
    tools = [s for s in session.segments if s.kind is Kind.TOOLS]
    assert tools[0].shortened and not tools[-1].shortened
    assert "output shortened" in scripted.tokenizer.detokenize(tools[0].ids)
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
