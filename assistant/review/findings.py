"""Review findings: the data, its JSON schema, the GBNF grammar that makes the
model emit exactly that, and parsing of what came out.

The grammar is stricter than the schema in two ways that matter for a small or
weak model: `file` can only be one of the files under review in that chunk, and
every string, number and list is bounded, so generation always ends."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


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
    """Bounds the grammar enforces (and the validator re-checks)."""

    max_findings: int = 8
    min_findings: int = 0  # >0 forces findings (tests, benchmarks)
    max_message_chars: int = 300
    max_suggestion_chars: int = 300
    max_line_digits: int = 6


def findings_schema(
    files: Sequence[str] | None = None, limits: Limits | None = None
) -> dict[str, Any]:
    """JSON schema of the model's answer (shown to the model, checked after).
    Without `files` the file is any string (the prompt's fixed part cannot
    know which files a chunk holds; the grammar restricts them)."""
    limits = limits or Limits()
    file_schema: dict[str, Any] = {"type": "string"}
    if files is not None:
        file_schema["enum"] = list(files)
    return {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "maxItems": limits.max_findings,
                "items": {
                    "type": "object",
                    "properties": {
                        "file": file_schema,
                        "line": {"type": "integer", "minimum": 1},
                        "end_line": {"type": "integer", "minimum": 1},
                        "severity": {"type": "string", "enum": [s.value for s in Severity]},
                        "category": {"type": "string", "enum": [c.value for c in MODEL_CATEGORIES]},
                        "message": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": limits.max_message_chars,
                        },
                        "suggestion": {"type": "string", "maxLength": limits.max_suggestion_chars},
                    },
                    "required": ["file", "line", "end_line", "severity", "category", "message"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["findings"],
        "additionalProperties": False,
    }


def _lit(text: str) -> str:
    return json.dumps(text)  # a GBNF literal uses the same escapes as JSON


def _json_string_literal(value: str) -> str:
    """GBNF literal matching the JSON encoding of `value` (quotes included)."""
    return _lit(json.dumps(value))


def findings_grammar(files: Sequence[str], limits: Limits | None = None) -> str:
    """GBNF for `{"findings": [...]}` with keys in schema order."""
    if not files:
        raise ValueError("a findings grammar needs at least one file")
    limits = limits or Limits()

    def key(name: str) -> str:
        return f'{_lit(json.dumps(name))} ws ":" ws'

    file_alts = " | ".join(_json_string_literal(f) for f in files)
    enum_alts = lambda values: " | ".join(_json_string_literal(v) for v in values)  # noqa: E731
    more = max(0, limits.max_findings - 1)
    items = f'finding ( ws "," ws finding ){{0,{more}}}'
    if limits.min_findings > 0:
        low = min(limits.min_findings, limits.max_findings) - 1
        items = f'finding ( ws "," ws finding ){{{low},{more}}}'
    else:
        items = f"( {items} )?"
    suggestion = (
        f'( ws "," ws {key("suggestion")} suggestion )? ' if limits.max_suggestion_chars > 0 else ""
    )
    return "\n".join(
        [
            f'root ::= "{{" ws {key("findings")} "[" ws {items} ws "]" ws "}}"',
            f'finding ::= "{{" ws {key("file")} file ws "," ws {key("line")} num ws "," ws '
            f'{key("end_line")} num ws "," ws {key("severity")} severity ws "," ws '
            f'{key("category")} category ws "," ws {key("message")} message '
            f'{suggestion}ws "}}"',
            f"file ::= {file_alts}",
            f"severity ::= {enum_alts([s.value for s in Severity])}",
            f"category ::= {enum_alts([c.value for c in MODEL_CATEGORIES])}",
            f"num ::= [1-9] [0-9]{{0,{limits.max_line_digits - 1}}}",
            f'message ::= "\\"" char{{1,{limits.max_message_chars}}} "\\""',
            f'suggestion ::= "\\"" char{{0,{limits.max_suggestion_chars}}} "\\""',
            r'char ::= [^"\\\x00-\x1F\x7F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )',
            # Compact JSON: free whitespace lets a weak model pad until the token limit,
            # and every extra grammar stack slows sampling over a 262k vocabulary.
            'ws ::= " "?',
        ]
    )


@dataclass
class ParseOutcome:
    findings: list[Finding] = field(default_factory=list)
    invalid: int = 0  # items present but not schema-valid
    errors: list[str] = field(default_factory=list)
    truncated: bool = False  # the answer stopped early; complete items were kept


def _item_errors(item: Any, files: Sequence[str], limits: Limits) -> list[str]:
    if not isinstance(item, dict):
        return ["finding is not an object"]
    errors: list[str] = []
    allowed = {"file", "line", "end_line", "severity", "category", "message", "suggestion"}
    for name in ("file", "line", "end_line", "severity", "category", "message"):
        if name not in item:
            errors.append(f"missing {name!r}")
    for name in item:
        if name not in allowed:
            errors.append(f"unknown key {name!r}")
    if "file" in item and item["file"] not in files:
        errors.append(f"file {item['file']!r} is not under review here")
    for name in ("line", "end_line"):
        value = item.get(name)
        if name in item and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            errors.append(f"{name} must be a positive integer")
    if "severity" in item and item["severity"] not in {s.value for s in Severity}:
        errors.append(f"bad severity {item['severity']!r}")
    if "category" in item and item["category"] not in {c.value for c in MODEL_CATEGORIES}:
        errors.append(f"bad category {item['category']!r}")
    message = item.get("message")
    if "message" in item and (not isinstance(message, str) or not message.strip()):
        errors.append("message must be a non-empty string")
    elif isinstance(message, str) and len(message) > limits.max_message_chars:
        errors.append("message too long")
    suggestion = item.get("suggestion")
    if suggestion is not None and not isinstance(suggestion, str):
        errors.append("suggestion must be a string")
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
    for item in items[: limits.max_findings]:
        errors = _item_errors(item, files, limits)
        if errors:
            outcome.invalid += 1
            outcome.errors.append("; ".join(errors))
        else:
            outcome.findings.append(_to_finding(item))
    outcome.invalid += max(0, len(items) - limits.max_findings)
    return outcome
