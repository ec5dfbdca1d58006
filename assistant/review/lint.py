"""`review --lint`: the user's `lint_command` on the reviewed files, its
`file:line[:col]: message` lines turned into findings with category `lint`.
The linter reads the work tree (the staged content where they agree)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from assistant.agent.checks import CheckCommand, CheckKind, run_check
from assistant.review.findings import Category, Finding, Severity

_LINE = re.compile(r"^(?P<file>[^:\n]+?):(?P<line>\d+)(?::(?P<col>\d+))?:?\s+(?P<msg>\S.*)$")
MAX_LINT_FINDINGS = 200


def lint_findings(
    root: Path, files: Sequence[str], command: str, timeout: float
) -> tuple[list[Finding], str | None]:
    """Findings from the linter, and a problem to report (timed out, or it
    failed without a single `file:line:` line)."""
    result = run_check(
        CheckCommand(CheckKind.LINT, command), root, files, timeout=timeout, max_chars=200_000
    )
    if result is None:
        return [], None
    wanted = set(files)
    findings: list[Finding] = []
    for raw in result.output.splitlines():
        match = _LINE.match(raw.strip())
        if match is None:
            continue
        path = match["file"].strip().removeprefix("./")
        if path not in wanted:
            continue
        line = int(match["line"])
        if line < 1:
            continue
        findings.append(
            Finding(path, line, line, Severity.WARNING, Category.LINT, match["msg"].strip()[:300])
        )
        if len(findings) >= MAX_LINT_FINDINGS:
            break
    problem = None
    if result.timed_out:
        problem = f"lint command timed out after {timeout:g} s: {result.command}"
    elif not result.ok and not findings:
        last = result.output.strip().splitlines()[-1:] or [""]
        problem = f"lint command failed (exit {result.exit_code}): {last[0][:200]}"
    return findings, problem
