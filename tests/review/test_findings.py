"""Findings: schema, grammar (compiled by llama.cpp), parsing and anchoring."""

from __future__ import annotations

import json

import pytest

from assistant.review.anchor import anchor_findings
from assistant.review.diff import Hunk
from assistant.review.findings import (
    Category,
    Finding,
    Limits,
    Severity,
    findings_grammar,
    findings_schema,
    parse_findings,
)
from tests.review.conftest import finding


def test_grammar_compiles_in_llama_cpp() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    for limits in (Limits(), Limits(min_findings=1, max_suggestion_chars=0)):
        gbnf = findings_grammar(["a.py", 'we"ird\\name.py'], limits)
        assert LlamaGrammar.from_string(gbnf, verbose=False) is not None


def test_grammar_restricts_file_to_the_chunk() -> None:
    gbnf = findings_grammar(["src/a.py"])
    assert 'file ::= "\\"src/a.py\\""' in gbnf
    with pytest.raises(ValueError):
        findings_grammar([])


def test_schema_lists_fields() -> None:
    schema = findings_schema(["a.py"])
    item = schema["properties"]["findings"]["items"]
    assert item["properties"]["file"]["enum"] == ["a.py"]
    assert set(item["required"]) == {"file", "line", "end_line", "severity", "category", "message"}
    assert "enum" not in findings_schema()["properties"]["findings"]["items"]["properties"]["file"]


def test_parse_valid_and_invalid_items() -> None:
    text = json.dumps(
        {
            "findings": [
                finding("a.py", 3, suggestion="fix it"),
                finding("b.py", 3),  # not in this chunk
                finding("a.py", 0),  # not a line
                {"file": "a.py"},
                finding("a.py", 9, end_line=4),  # reversed: becomes one line
            ]
        }
    )
    outcome = parse_findings(text, ["a.py"])
    assert [(f.line, f.end_line) for f in outcome.findings] == [(3, 3), (9, 9)]
    assert outcome.findings[0].suggestion == "fix it"
    assert outcome.invalid == 3


def test_truncated_answer_keeps_complete_items() -> None:
    whole = json.dumps({"findings": [finding("a.py", 1), finding("a.py", 2)]})
    outcome = parse_findings(whole[:-30], ["a.py"])
    assert outcome.truncated and [f.line for f in outcome.findings] == [1]


def test_garbage_answer_is_not_fatal() -> None:
    outcome = parse_findings("the code looks fine", ["a.py"])
    assert outcome.findings == [] and outcome.errors
    assert parse_findings('{"findings": 3}', ["a.py"]).errors


def test_anchoring_keeps_lines_in_hunks_and_clamps() -> None:
    hunk = Hunk(10, 3, 10, 5)  # new lines 10..14
    made = [
        Finding("a.py", 10, 12, Severity.ERROR, Category.BUG, "in"),
        Finding("a.py", 14, 40, Severity.INFO, Category.STYLE, "clamped"),
        Finding("a.py", 9, 9, Severity.ERROR, Category.BUG, "before"),
        Finding("a.py", 15, 15, Severity.ERROR, Category.BUG, "after"),
        Finding("b.py", 11, 11, Severity.ERROR, Category.BUG, "other file"),
    ]
    result = anchor_findings(made, {"a.py": [hunk]})
    assert [(f.message, f.end_line) for f in result.kept] == [("in", 12), ("clamped", 14)]
    assert len(result.dropped) == 3 and result.clamped == 1


def test_pure_deletion_hunk_anchors_nothing() -> None:
    hunk = Hunk(5, 2, 4, 0)
    result = anchor_findings(
        [Finding("a.py", 4, 4, Severity.ERROR, Category.BUG, "x")], {"a.py": [hunk]}
    )
    assert not result.kept
