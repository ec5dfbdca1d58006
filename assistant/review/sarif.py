"""SARIF 2.1.0 output, for code scanning dashboards and CI annotations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant import __version__
from assistant.review.findings import Category, Severity

if TYPE_CHECKING:
    from assistant.review.runner import ReviewResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "assistant-review"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
RULE_TEXT = {
    Category.BUG: "Likely bug introduced by the change",
    Category.SECURITY: "Security problem introduced by the change",
    Category.PERFORMANCE: "Performance problem introduced by the change",
    Category.STYLE: "Readability or style problem",
    Category.TEST: "Missing or wrong test",
    Category.DOCS: "Documentation made wrong by the change",
    Category.MAINTAINABILITY: "Maintainability problem",
    Category.LINT: "Reported by the project's linter",
}


def to_sarif(result: ReviewResult) -> dict[str, Any]:
    categories = list(Category)
    rules = [
        {
            "id": category.value,
            "name": category.name.title(),
            "shortDescription": {"text": RULE_TEXT[category]},
            "defaultConfiguration": {"level": "warning"},
        }
        for category in categories
    ]
    results = []
    for finding in result.findings:
        text = finding.message
        if finding.suggestion:
            text += f"\nSuggestion: {finding.suggestion}"
        entry: dict[str, Any] = {
            "ruleId": finding.category.value,
            "ruleIndex": categories.index(finding.category),
            "level": LEVELS[finding.severity],
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": finding.line, "endLine": finding.end_line},
                    }
                }
            ],
            "properties": {"severity": finding.severity.value},
        }
        if finding.suggestion:
            entry["properties"]["suggestion"] = finding.suggestion
        results.append(entry)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "rules": rules,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": result.incomplete is None,
                **(
                    {
                        "toolExecutionNotifications": [
                            {"level": "warning", "message": {"text": result.incomplete}}
                        ]
                    }
                    if result.incomplete
                    else {}
                ),
            }
        ],
        "properties": {
            "droppedOutsideDiff": result.dropped_outside_diff,
            "invalidFindings": result.invalid,
            "skippedFiles": [{"path": s.path, "reason": s.reason.value} for s in result.skipped],
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
