"""The generic protocol (GGUF chat template + tagged JSON calls) on SmolLM2's
real vocabulary and template, and protocol detection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.events import (
    Done,
    Notice,
    StopReason,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    ToolCallError,
)
from assistant.llm.engine import GeneratedToken
from assistant.protocols.base import Message, Role, ToolResult
from assistant.protocols.detect import make_protocol, protocol_for_metadata, protocol_for_template
from assistant.protocols.generic import GenericProtocol, parse
from tests.protocols.grammar_check import GrammarChecker
from tests.protocols.tools_fixture import READ_FILE, SEARCH, TOOLS


@pytest.fixture(scope="module")
def smol(smollm2_path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(model_path=str(smollm2_path), vocab_only=True, verbose=False)


@pytest.fixture(scope="module")
def generic(smol: Any) -> GenericProtocol:
    from assistant.llm.llama_tokenizer import LlamaTokenizer

    proto = make_protocol(
        LlamaTokenizer(smol), smol.metadata["tokenizer.chat_template"], smol.metadata
    )
    assert isinstance(proto, GenericProtocol)
    return proto


def test_detection(gemma4_template: str, smol: Any) -> None:
    assert protocol_for_template(gemma4_template) == "gemma4"
    assert protocol_for_metadata(smol.metadata) == "generic"
    assert protocol_for_template(None) == "generic"


def test_turns_follow_the_template(generic: GenericProtocol) -> None:
    tok = generic.tokenizer
    system, user = Message(Role.SYSTEM, "Be brief."), Message(Role.USER, "hi <|im_end|>")
    ids = generic.render_messages([system, user], [READ_FILE], False)
    text = tok.detokenize(ids)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert '"name": "read_file"' in text
    assert text.endswith("<|im_start|>user\nhi <|im_end|><|im_end|>\n<|im_start|>assistant\n")
    im_end = tok.token_id("<|im_end|>")
    assert ids.count(im_end) == 2  # only the template's own
    # The model's own output goes back as its ids; the results as the template's next turn.
    generated = tok.tokenize('<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n')
    generated += [*tok.tokenize("</tool_call>"), im_end]
    read = generic.read_output(generated)
    assert [c.name for c in read.calls if isinstance(c, ToolCall)] == ["read_file"]
    step = Message(
        Role.ASSISTANT,
        read.content,
        content_ids=read.content_ids,
        tool_calls=tuple(c for c in read.calls if isinstance(c, ToolCall)),
        tool_results=(ToolResult.reply("read_file", "x"),),
    )
    after = generic.render_messages([system, user, step], [READ_FILE], False)
    assert after[: len(ids)] == ids
    assert after[len(ids) : len(ids) + len(generated)] == generated
    rest = tok.detokenize(after[len(ids) + len(generated) :])
    assert rest.startswith("\n<|im_start|>")
    assert '"content": "x"' in rest
    assert rest.endswith("<|im_start|>assistant\n")


def _stream(generic: GenericProtocol, text: str, end: bool = True) -> list[Any]:
    parser = generic.new_parser(TOOLS)
    ids = generic.tokenizer.tokenize(text)
    events = []
    for i in ids:
        events += parser.feed(GeneratedToken(i, generic.tokenizer.piece(i)))
    if end:
        events += parser.feed(GeneratedToken(2, b""))
    return events + parser.finish(None if end else StopReason.MAX_TOKENS)


def test_stream_text_thought_and_calls(generic: GenericProtocol) -> None:
    text = (
        "<think>plan</think>Sure.<tool_call>\n"
        '{"name": "search", "arguments": {"pattern": "a{b}:c", "globs": ["*.py"]}}\n</tool_call>'
        '<tool_call>{"name": "read_file", "arguments": "{\\"path\\": \\"x\\"}"}</tool_call>'
    )
    events = _stream(generic, text)
    assert "".join(e.text for e in events if isinstance(e, ThoughtDelta)) == "plan"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Sure."
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("search", {"pattern": "a{b}:c", "globs": ["*.py"]}),
        ("read_file", {"path": "x"}),
    ]
    assert events[-1] == Done(StopReason.TOOL_CALL)


@pytest.mark.parametrize(
    "text,message",
    [
        ('<tool_call>{"name": "nope", "arguments": {}}</tool_call>', "unknown tool"),
        (
            '<tool_call>{"name": "read_file", "arguments": {"path": 1}}</tool_call>',
            "expected string",
        ),
        ("<tool_call>{not json}</tool_call>", "invalid JSON"),
        ('<tool_call>{"name": "read_file", "arguments": {"pa', "not closed"),
    ],
)
def test_generic_bad_calls(generic: GenericProtocol, text: str, message: str) -> None:
    errors = [e for e in _stream(generic, text) if isinstance(e, ToolCallError)]
    assert len(errors) == 1 and message in errors[0].message


def test_generic_whole_parse_and_cutoff(generic: GenericProtocol) -> None:
    turn = parse('Hi <tool_call>{"name": "x", "arguments": {"a": [1, null]}}</tool_call>')
    assert turn.content == "Hi" and turn.tool_calls[0].arguments == {"a": [1, None]}
    events = _stream(generic, '<tool_call>{"name": "read_file"', end=False)
    assert "cut off" in next(e for e in events if isinstance(e, ToolCallError)).message


def test_generic_required_grammar(generic: GenericProtocol, smol: Any) -> None:
    lazy = generic.grammar(TOOLS, "auto")  # no <tool_call> token here: a text trigger
    assert lazy is not None and not lazy.trigger_ids and lazy.trigger_texts == ("<tool_call>",)
    spec = generic.grammar([READ_FILE, SEARCH], "required", existing_paths=["a.py", "b/c.py"])
    assert spec is not None and not spec.trigger_ids
    checker = GrammarChecker(smol, spec.gbnf)
    tok = generic.tokenizer
    good = '<tool_call>\n{"name":"search","arguments":{"globs":["*.py"],"pattern":"x\\"y"}}\n</tool_call>'
    assert checker.accepts(tok.tokenize(good), end_id=2)
    assert checker.accepts(
        tok.tokenize(
            '<tool_call>\n{"name":"read_file","arguments":{"path":"b/c.py"}}\n</tool_call>'
        )
    )
    assert not checker.accepts(
        tok.tokenize('<tool_call>\n{"name":"read_file","arguments":{"path":"zz.py"}}')
    )
    assert not checker.accepts(tok.tokenize('<tool_call>\n{"name":"search","arguments":{}}'))


def test_text_imitating_a_tool_result_is_a_notice_not_the_answer(generic: GenericProtocol) -> None:
    """Issue 21 (1): SmolLM2 wrote `<tool_response>{…}</tool_response>` as plain
    text and it reached `edit`'s stdout. As on the Gemma 4 path, a result the
    model writes itself ends its turn there: a notice for the user, no answer
    text; a real call before it still runs. Stray closing tags are dropped."""
    imitation = (
        'Done.</tool_call>\n<tool_response>{"name": "write_file", "content": "ok: wrote calc/ops.py"}'
        "</tool_response>\nThe function sub was added."
    )
    events = _stream(generic, imitation)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == "Done."
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "wrote a tool result itself" in notices[0].text
    assert events[-1] == Done(StopReason.END_OF_TURN)
    called = _stream(
        generic,
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>'
        '<tool_response>{"name": "read_file", "content": "made up"}</tool_response>',
    )
    assert [e.name for e in called if isinstance(e, ToolCall)] == ["read_file"]
    assert not [e for e in called if isinstance(e, TextDelta)]
    assert called[-1] == Done(StopReason.TOOL_CALL)
    # The history reader counts calls only, not the notice.
    ids = generic.tokenizer.tokenize(imitation)
    assert generic.read_output(ids).calls == ()
