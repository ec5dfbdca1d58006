"""Anchoring: a finding counts only where the change is.

A finding is kept when its first line lies inside one of the hunks under
review (new-side lines of the hunk, its context lines included, as on a code
review site); its last line is clamped to that hunk. Anything else is dropped,
and kept with the reason (`DropReason`), so `--verbose` and `--json` can show
what the model said and why it did not count."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from assistant.review.diff import Hunk
from assistant.review.findings import Finding


class DropReason(enum.Enum):
    OUTSIDE_HUNKS = "outside_hunks"  # in the file, but not in a changed hunk under review
    FILE_NOT_IN_DIFF = "file_not_in_diff"  # a file this chunk does not review
    PAST_END_OF_FILE = "past_end_of_file"  # the line does not exist in the new file


@dataclass(frozen=True)
class DroppedFinding:
    finding: Finding
    reason: DropReason
    # The new-side line ranges the model was shown for that file (first, last).
    hunks: tuple[tuple[int, int], ...] = ()
    chunk: str = ""  # the chunk whose answer it came from
    file_lines: int | None = None  # lines in the new file, when known

    def explain(self) -> str:
        """Why it was dropped, in words."""
        line = self.finding.line
        if self.reason is DropReason.FILE_NOT_IN_DIFF:
            return f"{self.finding.file} is not in the diff under review"
        if self.reason is DropReason.PAST_END_OF_FILE:
            return f"line {line} is past the end of the file ({self.file_lines} lines)"
        ranges = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in self.hunks)
        return f"line {line} is outside the changed hunks" + (
            f" (lines {ranges})" if ranges else ""
        )

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = dict(self.finding.to_json())
        data["reason"] = self.reason.value
        data["explanation"] = self.explain()
        if self.chunk:
            data["chunk"] = self.chunk
        return data


@dataclass
class AnchorResult:
    kept: list[Finding] = field(default_factory=list)
    dropped: list[DroppedFinding] = field(default_factory=list)
    clamped: int = 0


def _ranges(hunks: Sequence[Hunk]) -> tuple[tuple[int, int], ...]:
    return tuple((h.new_start, h.new_end) for h in hunks if h.new_count > 0)


def anchor_findings(
    findings: Sequence[Finding],
    hunks: Mapping[str, Sequence[Hunk]],
    file_lines: Mapping[str, int] | None = None,
    chunk: str = "",
) -> AnchorResult:
    """Keep the findings inside `hunks` (per file). `file_lines` (lines of each
    new file) lets a line past the end be told apart from one outside the hunks."""
    result = AnchorResult()
    for finding in findings:
        file_hunks = hunks.get(finding.file)
        hunk = next((h for h in file_hunks or () if h.contains(finding.line)), None)
        if hunk is None:
            size = (file_lines or {}).get(finding.file)
            if file_hunks is None:
                reason = DropReason.FILE_NOT_IN_DIFF
            elif size is not None and finding.line > size:
                reason = DropReason.PAST_END_OF_FILE
            else:
                reason = DropReason.OUTSIDE_HUNKS
            result.dropped.append(
                DroppedFinding(finding, reason, _ranges(file_hunks or ()), chunk, size)
            )
            continue
        if finding.end_line > hunk.new_end:
            finding = replace(finding, end_line=hunk.new_end)
            result.clamped += 1
        result.kept.append(finding)
    return result
