"""Anchoring: a finding counts only where the change is.

A finding is kept when its first line lies inside one of the hunks under
review (new-side lines of the hunk, its context lines included, as on a code
review site); its last line is clamped to that hunk. Anything else (a line
outside the diff, past the end of the file, in a file not in the chunk) is
dropped and counted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from assistant.review.diff import Hunk
from assistant.review.findings import Finding


@dataclass
class AnchorResult:
    kept: list[Finding] = field(default_factory=list)
    dropped: list[Finding] = field(default_factory=list)
    clamped: int = 0


def anchor_findings(
    findings: Sequence[Finding], hunks: Mapping[str, Sequence[Hunk]]
) -> AnchorResult:
    result = AnchorResult()
    for finding in findings:
        hunk = next((h for h in hunks.get(finding.file, ()) if h.contains(finding.line)), None)
        if hunk is None:
            result.dropped.append(finding)
            continue
        if finding.end_line > hunk.new_end:
            finding = replace(finding, end_line=hunk.new_end)
            result.clamped += 1
        result.kept.append(finding)
    return result
