"""Destructive overwrites show what they remove, and a dry run says "would"
(issue 15). Real files in a temporary git repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.tools.approval import ApprovalDecision, ApprovalPolicy, ApprovalRequest

from tests.tools.conftest import MakeToolbox


@dataclass
class Recorder:
    requests: list[ApprovalRequest] = field(default_factory=list)

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        return ApprovalDecision.YES


def big_file(repo: Path) -> str:
    (repo / "big.py").write_text("".join(f"line_{i} = {i}\n" for i in range(50)))
    return "big.py"


def test_overwrite_shows_removed_and_added_counts(repo: Path, make_toolbox: MakeToolbox) -> None:
    name = big_file(repo)
    box = make_toolbox(ApprovalPolicy.AUTO_EDIT)
    box.call("read_file", {"path": name})
    result = box.call("write_file", {"path": name, "content": "x = 1\n"})
    assert result.ok
    first = result.text.splitlines()[0]
    assert "-50 +1 lines" in first and "deletes 50 lines" in first
    assert (repo / name).read_text() == "x = 1\n"


def test_large_deletion_is_flagged_in_the_approval_request(
    repo: Path, make_toolbox: MakeToolbox
) -> None:
    name = big_file(repo)
    recorder = Recorder()
    box = make_toolbox(ApprovalPolicy.ASK, recorder)
    box.call("read_file", {"path": name})
    box.call("write_file", {"path": name, "content": "x = 1\n"})
    assert len(recorder.requests) == 1
    assert "deletes 50 lines" in recorder.requests[0].summary


def test_small_edit_is_not_flagged(repo: Path, make_toolbox: MakeToolbox) -> None:
    name = big_file(repo)
    box = make_toolbox(ApprovalPolicy.AUTO_EDIT)
    box.call("read_file", {"path": name})
    text = (repo / name).read_text().replace("line_3 = 3\n", "line_3 = 33\n")
    result = box.call("write_file", {"path": name, "content": text})
    assert "-1 +1 lines" in result.text and "deletes" not in result.text


def test_dry_run_says_would(repo: Path, make_toolbox: MakeToolbox) -> None:
    name = big_file(repo)
    box = make_toolbox(ApprovalPolicy.AUTO_EDIT, dry_run=True)
    box.call("read_file", {"path": name})
    result = box.call("write_file", {"path": name, "content": "x = 1\n"})
    assert result.text.startswith(f"ok: would overwrite {name}")
    assert "wrote" not in result.text.splitlines()[0]
    assert (repo / name).read_text().startswith("line_0")
