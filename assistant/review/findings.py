"""Review findings: the data, its JSON schema, the GBNF grammar that makes the
model emit exactly that, and parsing of what came out.

The schema is the one definition of the contract: the grammar is generated
from it (`GrammarBuilder`) and answers are validated against it
(`schema.validate`). For a small or weak model it is strict: `file` can only
be one of the files under review in that chunk, and every string, number and
list is bounded, so generation always ends."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# The grammar builder and validator (protocols, jinja2) load when a review
# runs: `assistant --help` and the CLI's option types import this module.


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Category(enum.Enum):
    BUG = "bug"
    SECURITY = "security"
    PERFORMANCE = "performance"
    STYLE = "style"
    TEST = "test"
    DOCS = "docs"
    MAINTAINABILITY = "maintainability"
    LINT = "lint"  # from the user's lint_command (`review --lint`), never from the model


# What the model may answer with: lint findings come from the linter only.
MODEL_CATEGORIES = tuple(c for c in Category if c is not Category.LINT)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    end_line: int
    severity: Severity
    category: Category
    message: str
    suggestion: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "end_line": self.end_line,
            "severity": self.severity.value,
            "category": self.category.value,
            "message": self.message,
        }
        if self.suggestion:
            data["suggestion"] = self.suggestion
        return data


@dataclass(frozen=True)
class Limits:
    """Bounds of an answer. They are part of the findings schema, so the
    grammar enforces them and the validator re-checks them."""

    max_findings: int = 8
    min_findings: int = 0  # >0 forces findings (tests, benchmarks)
    max_message_chars: int = 300
    max_suggestion_chars: int = 300  # 0: no suggestion field at all
    max_line_digits: int = 6


def findings_schema(
    files: Sequence[str] | None = None, limits: Limits | None = None
) -> dict[str, Any]:
    """JSON schema of the model's answer: the one definition of the findings
    contract. The prompt shows it to the model, `findings_grammar` is
    generated from it and `parse_findings` validates against it. Without
    `files` the file is any string (the prompt's fixed part cannot know which
    files a chunk holds; the grammar restricts them)."""
    limits = limits or Limits()
    file_schema: dict[str, Any] = {"type": "string"}
    if files is not None:
        file_schema["enum"] = list(files)
    # Bounded digits keep generation finite; 10**k - 1 is what the grammar can say exactly.
    line = {"type": "integer", "minimum": 1, "maximum": 10**limits.max_line_digits - 1}
    properties: dict[str, Any] = {
        "file": file_schema,
        "line": line,
        "end_line": dict(line),
        "severity": {"type": "string", "enum": [s.value for s in Severity]},
        "category": {"type": "string", "enum": [c.value for c in MODEL_CATEGORIES]},
        "message": {"type": "string", "minLength": 1, "maxLength": limits.max_message_chars},
    }
    if limits.max_suggestion_chars > 0:
        properties["suggestion"] = {"type": "string", "maxLength": limits.max_suggestion_chars}
    findings: dict[str, Any] = {
        "type": "array",
        "maxItems": limits.max_findings,
        "items": {
            "type": "object",
            "properties": properties,
            "required": ["file", "line", "end_line", "severity", "category", "message"],
            "additionalProperties": False,
        },
    }
    if limits.min_findings > 0:
        findings["minItems"] = min(limits.min_findings, limits.max_findings)
    return {
        "type": "object",
        "properties": {"findings": findings},
        "required": ["findings"],
        "additionalProperties": False,
    }


def findings_grammar(files: Sequence[str], limits: Limits | None = None) -> str:
    """GBNF for `{"findings": [...]}`, generated from `findings_schema(files)`:
    keys in the schema's order, `file` one of `files`, every string, number
    and list bounded so generation always ends. One optional space is allowed
    around the punctuation, as the prompt's example is spaced; free whitespace
    would let a weak model pad until the token limit, and every extra grammar
    stack slows sampling over a 262k vocabulary."""
    if not files:
        raise ValueError("a findings grammar needs at least one file")
    from assistant.protocols.base import GrammarOptions
    from assistant.protocols.generic import JsonSyntax
    from assistant.protocols.grammar import GrammarBuilder

    limits = limits or Limits()
    builder = GrammarBuilder(
        JsonSyntax(),
        GrammarOptions(max_number_digits=limits.max_line_digits),
        keep_order=True,
        space='" "?',
    )
    root = builder.value(findings_schema(files, limits), "answer")
    return builder.render(root)


@dataclass
class ParseOutcome:
    findings: list[Finding] = field(default_factory=list)
    invalid: int = 0  # items present but not schema-valid
    errors: list[str] = field(default_factory=list)
    truncated: bool = False  # the answer stopped early; complete items were kept


def _item_errors(item: Any, schema: dict[str, Any]) -> list[str]:
    from assistant.protocols.schema import validate

    errors = validate(item, schema, "finding")
    message = item.get("message") if isinstance(item, dict) else None
    if not errors and isinstance(message, str) and not message.strip():
        # Beyond the schema's subset (and the grammar): a blank message says nothing.
        errors.append("finding.message is blank")
    return errors


def _to_finding(item: dict[str, Any]) -> Finding:
    line, end_line = int(item["line"]), int(item["end_line"])
    suggestion = item.get("suggestion")
    return Finding(
        file=item["file"],
        line=line,
        end_line=max(line, end_line),  # a reversed range means the one line
        severity=Severity(item["severity"]),
        category=Category(item["category"]),
        message=item["message"].strip(),
        suggestion=suggestion.strip() or None if isinstance(suggestion, str) else None,
    )


def _salvage_items(text: str) -> tuple[list[Any], bool]:
    """Complete array items of a cut-off `{"findings": [ ...` answer."""
    start = text.find("[")
    if start < 0:
        return [], False
    decoder = json.JSONDecoder()
    items: list[Any] = []
    pos = start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return items, pos >= len(text)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return items, True
        items.append(item)


def parse_findings(text: str, files: Sequence[str], limits: Limits | None = None) -> ParseOutcome:
    """Findings in a model answer. Never raises: what is not valid is counted."""
    limits = limits or Limits()
    outcome = ParseOutcome()
    stripped = text.strip()
    items: list[Any]
    try:
        data = json.loads(stripped)
    except ValueError:
        items, outcome.truncated = _salvage_items(stripped)
        if outcome.truncated:
            outcome.errors.append("answer is not complete JSON; kept the complete findings")
        else:
            outcome.errors.append("answer is not JSON")
    else:
        if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
            outcome.errors.append('answer is not an object with a "findings" list')
            return outcome
        items = data["findings"]
    schema = findings_schema(files, limits)["properties"]["findings"]["items"]
    for item in items[: limits.max_findings]:
        errors = _item_errors(item, schema)
        if errors:
            outcome.invalid += 1
            outcome.errors.append("; ".join(errors))
        else:
            outcome.findings.append(_to_finding(item))
    outcome.invalid += max(0, len(items) - limits.max_findings)
    return outcome
