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


FIELDS = ("file", "line", "end_line", "severity", "category", "message", "suggestion")
GRAMMAR_CASES = [
    (["a.py", 'we"ird\\name.py', "dir/ünï.py"], Limits()),
    (["src/a.py"], Limits(min_findings=1, max_findings=2, max_suggestion_chars=0)),
    (["x.c", "y.c"], Limits(max_findings=3, max_message_chars=5, max_line_digits=2)),
]


@pytest.mark.parametrize(("files", "limits"), GRAMMAR_CASES)
def test_every_answer_the_grammar_admits_validates(files: list[str], limits: Limits) -> None:
    """The grammar and the validator come from one schema: 300 random answers
    the grammar admits (bounds hit often) are all schema-valid, and every
    finding in them parses (a blank message, which the grammar allows, is
    the one thing dropped)."""
    import random

    from assistant.protocols.schema import validate
    from tests.review.gbnf_sample import Sampler

    schema = findings_schema(files, limits)
    sampler = Sampler(findings_grammar(files, limits), random.Random(7))
    order = list(schema["properties"]["findings"]["items"]["properties"])
    seen = {"suggestion": 0, "spaces": 0, "max_findings": 0, "longest": 0}
    for _ in range(300):
        text = sampler.sample()
        answer = json.loads(text)
        assert validate(answer, schema, "answer") == [], text
        items = answer["findings"]
        assert all(list(item) == [k for k in order if k in item] for item in items), text
        blank = sum(1 for item in items if not item["message"].strip())
        outcome = parse_findings(text, files, limits)
        assert (len(outcome.findings), outcome.invalid) == (len(items) - blank, blank), text
        seen["suggestion"] += any("suggestion" in item for item in items)
        seen["spaces"] += ", " in text or ": " in text
        seen["max_findings"] += len(items) == limits.max_findings
        seen["longest"] += any(len(i["message"]) == limits.max_message_chars for i in items)
    # The samples did reach the optional parts and the bounds.
    assert seen["suggestion"] > 0 or limits.max_suggestion_chars == 0
    assert min(seen["spaces"], seen["max_findings"], seen["longest"]) > 0, seen


def test_grammar_keeps_the_schemas_fields_order_and_bounds() -> None:
    """The same fields as before the grammar was generated, in the order the
    prompt's example writes them, each bounded as the schema says."""
    from llama_cpp.llama_grammar import LlamaGrammar

    limits = Limits(max_findings=3, max_message_chars=50, max_suggestion_chars=20)
    gbnf = findings_grammar(["a.py"], limits)
    assert LlamaGrammar.from_string(gbnf, verbose=False) is not None
    rules = dict(line.split(" ::= ", 1) for line in gbnf.splitlines())
    text = " ".join(rules.values())
    for key in ("findings", *FIELDS):
        assert f'"\\"{key}\\":"' in text, key
    assert "json-char{1,50}" in text and "json-char{0,20}" in text
    assert "[1-9] [0-9]{0,5}" in text  # lines 1 to 999999
    assert "{0,2}" in text  # at most 3 findings
    assert rules["ws"] == '" "?'  # one optional space, as in the prompt's example
