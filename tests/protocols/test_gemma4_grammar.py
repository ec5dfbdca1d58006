"""Grammars checked by llama.cpp's own grammar sampler over real token ids."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.protocols.base import GrammarOptions, ToolChoice
from assistant.protocols.gemma4 import Gemma4Protocol
from assistant.protocols.gemma4_format import Marker, format_call
from tests.protocols.grammar_check import GrammarChecker
from tests.protocols.tools_fixture import EDIT, READ_FILE, RUN, SEARCH, TOOLS

PATHS = ["README.md", "src/app.py", "src/util.py"]

GOOD = [
    ("read_file", {"path": "src/app.py"}),
    ("read_file", {"path": "README.md", "start_line": -3}),
    ("search", {"pattern": 'a "b" {c}: d'}),
    ("search", {"globs": [], "mode": "literal", "pattern": "x"}),
    (
        "edit_file",
        {"edits": [{"new": "b\nc", "old": "a"}, {"new": "", "old": "z"}], "path": "any/new.py"},
    ),
    (
        "run_tests",
        {"options": {"timeout": 0, "verbose": True, "ratio": -1.5e-3}, "targets": ["t::a"]},
    ),
    ("run_tests", {"options": {"timeout": 10}}),
]
BAD = [
    ("unknown tool", "delete_all", {"path": "x"}),
    ("missing required", "read_file", {"start_line": 3}),
    ("path not in repo", "read_file", {"path": "src/nope.py"}),
    ("string for integer", "read_file", {"path": "README.md", "start_line": "3"}),
    ("enum violated", "search", {"mode": "fuzzy", "pattern": "x"}),
    ("undeclared key", "search", {"pattern": "x", "zzz": 1}),
    ("nested missing required", "run_tests", {"options": {"verbose": True}}),
    ("array item wrong type", "search", {"globs": [1], "pattern": "x"}),
    ("float for integer", "run_tests", {"options": {"timeout": 1.5}}),
]


@pytest.fixture(scope="module")
def auto_checker(gemma4: Gemma4Protocol, gemma4_llama: Any) -> GrammarChecker:
    spec = gemma4.grammar(TOOLS, "auto", existing_paths=PATHS)
    assert spec is not None and spec.trigger_ids == {gemma4.vocab[Marker.CALL_OPEN]}
    return GrammarChecker(gemma4_llama, spec.gbnf)


@pytest.mark.parametrize("call", GOOD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GOOD)])
def test_grammar_accepts_valid_calls(
    gemma4: Gemma4Protocol, auto_checker: GrammarChecker, call: Any
) -> None:
    ids = gemma4.ids(format_call(*call))
    assert auto_checker.accepts(ids, end_id=gemma4.vocab[Marker.RESPONSE_OPEN])
    # and the parser agrees
    parser = gemma4.new_parser(TOOLS)
    from assistant.llm.engine import GeneratedToken

    events = [e for i in ids for e in parser.feed(GeneratedToken(i, gemma4.tokenizer.piece(i)))]
    assert [type(e).__name__ for e in events] == ["ToolCall"]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_grammar_rejects_invalid_calls(
    gemma4: Gemma4Protocol, auto_checker: GrammarChecker, case: Any
) -> None:
    _, name, args = case
    assert not auto_checker.accepts(gemma4.ids(format_call(name, args)))


def test_two_calls_then_end(gemma4: Gemma4Protocol, auto_checker: GrammarChecker) -> None:
    ids = gemma4.ids(format_call(*GOOD[0]) + format_call(*GOOD[2]))
    assert auto_checker.accepts(ids, end_id=gemma4.vocab[Marker.TURN_CLOSE])
    # text after a call is not allowed once the grammar runs
    assert not auto_checker.accepts(
        [*gemma4.ids(format_call(*GOOD[0])), *gemma4.tokenizer.tokenize("hi")]
    )
    # an unfinished call cannot end
    assert not auto_checker.accepts(
        gemma4.ids(format_call(*GOOD[0]))[:-1], end_id=gemma4.vocab[Marker.EOS]
    )


def test_control_text_inside_string_stays_plain(
    gemma4: Gemma4Protocol, auto_checker: GrammarChecker
) -> None:
    ids = gemma4.ids(format_call("search", {"pattern": '<turn|> <|"|> <|tool_call>'}))
    assert auto_checker.accepts(ids, end_id=gemma4.vocab[Marker.EOS])


def test_required_and_named(gemma4: Gemma4Protocol, gemma4_llama: Any) -> None:
    required = gemma4.grammar(TOOLS, "required")
    assert required is not None and not required.trigger_ids
    checker = GrammarChecker(gemma4_llama, required.gbnf)
    call = gemma4.ids(format_call(*GOOD[2]))
    assert checker.accepts(call, end_id=gemma4.vocab[Marker.RESPONSE_OPEN])
    assert not checker.accepts(gemma4.tokenizer.tokenize("Sure"))  # must call from the first token
    think = gemma4.grammar(TOOLS, "required", think=True)
    assert think is not None
    thought = gemma4.ids([Marker.CHANNEL_OPEN, "thought\nplan", Marker.CHANNEL_CLOSE])
    assert GrammarChecker(gemma4_llama, think.gbnf).accepts(
        thought + call, end_id=gemma4.vocab[Marker.EOS]
    )
    named = gemma4.grammar(TOOLS, ToolChoice.parse("read_file"))
    assert named is not None
    named_checker = GrammarChecker(gemma4_llama, named.gbnf)
    assert named_checker.accepts(gemma4.ids(format_call(*GOOD[0])), end_id=gemma4.vocab[Marker.EOS])
    assert not named_checker.accepts(call)
    assert gemma4.grammar(TOOLS, "none") is None
    assert gemma4.grammar([], "auto") is None
    with pytest.raises(ValueError, match="not declared"):
        gemma4.grammar(TOOLS, "nope")


def test_bounds_for_weak_models(gemma4: Gemma4Protocol, gemma4_llama: Any) -> None:
    spec = gemma4.grammar(
        [SEARCH, EDIT, READ_FILE, RUN],
        "required",
        options=GrammarOptions(max_string_tokens=3, max_array_items=1, parallel_calls=False),
    )
    assert spec is not None
    checker = GrammarChecker(gemma4_llama, spec.gbnf)
    short = gemma4.ids(format_call("search", {"globs": ["a"], "pattern": "ab"}))
    assert checker.accepts(short, end_id=gemma4.vocab[Marker.EOS])
    assert not checker.accepts(
        gemma4.ids(format_call("search", {"globs": ["a", "b"], "pattern": "ab"}))
    )
    long_string = gemma4.ids(format_call("search", {"pattern": "one two three four five six"}))
    assert not checker.accepts(long_string)
    assert not checker.accepts(short + short)  # one call only
