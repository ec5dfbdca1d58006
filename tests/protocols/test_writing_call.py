"""`writing_call`: the parser names a tool call while it streams, so the UI
can say "writing edit_file call…" (real Gemma 4 vocab from the vocab-only GGUF
in the llama-cpp-python sdist; see tests/fixtures)."""

from __future__ import annotations

from assistant.llm.engine import GeneratedToken
from assistant.protocols.gemma4 import Gemma4Protocol
from assistant.protocols.gemma4_format import Marker, format_call
from tests.protocols.tools_fixture import TOOLS


def test_parser_names_the_call_while_it_streams(gemma4: Gemma4Protocol) -> None:
    ids = gemma4.ids(["Let me fix it.", *format_call("edit_file", {"path": "a.py"})])
    ids += gemma4.ids([Marker.RESPONSE_OPEN])
    parser = gemma4.new_parser(list(TOOLS))
    seen: list[str | None] = []
    for i in ids:
        parser.feed(GeneratedToken(i, gemma4.tokenizer.piece(i)))
        seen.append(parser.writing_call)  # type: ignore[attr-defined]
    assert seen[0] is None
    assert "edit_file" in seen
    assert seen[-1] is None  # the call is closed
    named = [s for s in seen if s]
    assert set(named) == {"edit_file"}
