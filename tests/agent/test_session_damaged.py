"""A damaged saved chat never breaks `chat --resume` (issue 11, section 3).

Every variant that used to raise (`unexpected JSONDecodeError` and others, 7 of
7) or crash llama_decode (out-of-vocabulary ids) is reported in one line; the
file is moved aside and a fresh session starts. Real tokenizer and protocol
(Gemma 4's vocab, through the ScriptedEngine fixture: no weights) for the
variants; a real `chat --resume` in a pty with
SmolLM2 for the crash."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest
from assistant.tools.journal import UndoJournal

from assistant.agent.session import DamagedSession
from tests.agent.conftest import clean_env
from tests.agent.test_session import model_reply, new_session


def _saved(scripted, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def]
    session = new_session(scripted)
    session.add_user("hello")
    model_reply(session, "hi there")
    session.close_turn()
    path = tmp_path / "good.json"
    session.save(path)
    return json.loads(path.read_text())


def _variant(data: dict, name: str, n_vocab: int) -> bytes:  # type: ignore[type-arg]
    text = json.dumps(data)
    model_segment = next(i for i, s in enumerate(data["segments"]) if s["kind"] == "model")
    if name == "truncated":
        return text[: len(text) // 2].encode()
    if name == "empty":
        return b""
    if name == "not-utf8":
        return b"\xff\xfe" + text.encode()
    if name == "a-list":
        return b"[1, 2, 3]"
    if name == "nested-deep":
        return b"[" * 100_000 + b"]" * 100_000
    changed = json.loads(text)
    segment = changed["segments"][model_segment]
    if name == "segments-a-string":
        changed["segments"] = "oops"
    elif name == "ids-strings":
        segment["ids"] = ["a", "b"]
    elif name == "ids-floats":
        segment["ids"] = [1.5]
    elif name == "ids-out-of-vocab":
        segment["ids"] = [n_vocab + 5]
    elif name == "ids-negative":
        segment["ids"] = [-1]
    elif name == "turns-text":
        changed["turns"] = "three"
    elif name == "unknown-kind":
        segment["kind"] = "wizard"
    elif name == "bad-tool-result":
        segment["results"] = [{"name": 1, "content": None, "extra": True}]
    elif name == "last-token-out-of-vocab":
        segment["last_token"] = 10**12
    elif name == "segment-null":
        changed["segments"].append(None)
    return json.dumps(changed).encode()


VARIANTS = [
    "truncated",
    "empty",
    "not-utf8",
    "a-list",
    "nested-deep",
    "segments-a-string",
    "ids-strings",
    "ids-floats",
    "ids-out-of-vocab",
    "ids-negative",
    "turns-text",
    "unknown-kind",
    "bad-tool-result",
    "last-token-out-of-vocab",
    "segment-null",
]


@pytest.mark.parametrize("name", VARIANTS)
def test_damaged_chat_is_moved_aside_and_the_session_stays_fresh(
    scripted, tmp_path: Path, name: str
) -> None:  # type: ignore[no-untyped-def]
    data = _saved(scripted, tmp_path)
    path = tmp_path / "sess" / "chat.json"
    path.parent.mkdir()
    path.write_bytes(_variant(data, name, scripted.tokenizer.n_vocab))
    session = new_session(scripted)
    fresh = list(session.ids)
    with pytest.raises(DamagedSession) as info:
        session.restore_file(path)
    message = str(info.value)
    assert "\n" not in message and "damaged" in message and "fresh session" in message
    assert not path.exists()
    (aside,) = path.parent.glob("chat.json.damaged-*")
    assert str(aside) in message
    assert session.ids == fresh and session.turns == 0 and session.summary == ""


def test_a_good_file_still_restores(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(_saved(scripted, tmp_path)))
    session = new_session(scripted)
    assert session.restore_file(path) and session.turns == 1 and path.exists()


def test_chat_resume_with_out_of_vocabulary_ids(
    demo_repo: Path, smollm2_path: Path, tmp_path: Path
) -> None:
    """Was: `llama_decode returned -1` and the chat died. Now one line, a fresh
    session, and the chat answers."""
    directory = UndoJournal.sessions_dir(demo_repo) / "20260101-000000-dead"
    directory.mkdir(parents=True)
    saved = {
        "version": 1,
        "saved": 0,
        "model": smollm2_path.name,
        "think": False,
        "summary": "",
        "turns": 1,
        "segments": [
            {"kind": "user", "ids": [], "turn": 1, "text": "hi", "results": []},
            {"kind": "model", "ids": [10**7, 10**7 + 1], "turn": 1, "text": "x", "results": []},
            {"kind": "close", "ids": [], "turn": 1, "text": "", "results": [], "last_token": None},
        ],
    }
    (directory / "chat.json").write_text(json.dumps(saved))
    env = clean_env()
    env["TERM"] = "xterm-256color"
    args = ["-m", "assistant", "chat", "--model", str(smollm2_path), "--ctx", "3072"]
    args += ["--temperature", "0", "--max-tokens", "4", "--resume"]
    child = pexpect.spawn(
        sys.executable,
        args,
        cwd=str(demo_repo),
        env=env,
        encoding="utf-8",
        dimensions=(40, 200),
        timeout=240,
    )
    try:
        child.expect("damaged")
        child.expect("fresh session")
        child.expect("\n> ")
        child.sendline("Hello")
        child.expect("tokens · ")
        child.expect("\n> ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert list(directory.glob("chat.json.damaged-*"))
