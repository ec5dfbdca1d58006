"""Who says yes to a change: the approval policy and the approvers.

`ASK` shows each change (a coloured unified diff, or the command line) and waits for
y/n/always/quit; `AUTO_EDIT` applies edits and only shows them (commands still ask);
`READ_ONLY` does not even offer the mutating tools to the model. The chat renderer
supplies its own Rich approver; this module has a console one for `assistant tool`
and fixed-answer ones for scripts and tests."""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass
from typing import Protocol, TextIO


class ApprovalPolicy(enum.Enum):
    ASK = "ask"
    AUTO_EDIT = "auto-edit"
    READ_ONLY = "read-only"


class ApprovalDecision(enum.Enum):
    YES = "yes"
    NO = "no"
    ALWAYS = "always"  # yes, and stop asking about edits for the rest of the session
    QUIT = "quit"  # no, and stop the agent loop


@dataclass(frozen=True)
class ApprovalRequest:
    tool: str
    summary: str  # one line: "edit src/app.py (exact match, 1 replacement)"
    path: str | None = None
    diff: str = ""  # unified diff of the change (edits and writes)
    command: str | None = None  # the command line (run_command)
    protected: bool = False  # the file configures the assistant: always asked, never --yes


class Approver(Protocol):
    def approve(self, request: ApprovalRequest) -> ApprovalDecision: ...


@dataclass
class FixedApprover:
    """Answers every request the same way (non-interactive runs, `--yes`, tests)."""

    decision: ApprovalDecision = ApprovalDecision.NO

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        return self.decision


_ANSWERS = {
    "y": ApprovalDecision.YES,
    "yes": ApprovalDecision.YES,
    "n": ApprovalDecision.NO,
    "no": ApprovalDecision.NO,
    "a": ApprovalDecision.ALWAYS,
    "always": ApprovalDecision.ALWAYS,
    "q": ApprovalDecision.QUIT,
    "quit": ApprovalDecision.QUIT,
}


class ConsoleApprover:
    """Shows the diff (coloured with Rich when the output is a terminal) and reads an
    answer from `stdin`. End of input counts as "no": an unattended run never
    approves by accident."""

    def __init__(self, stdin: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr

    def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        from assistant.tools.sandbox import show_controls
        from rich.console import Console
        from rich.syntax import Syntax

        console = Console(file=self.stderr, highlight=False)
        console.print(show_controls(request.summary), style="bold", markup=False)
        if request.protected:
            console.print(
                "this file configures the assistant itself; approve only this change "
                "('always' counts as yes for this one)",
                style="bold yellow",
                markup=False,
            )
        if request.diff:
            # The diff already shows control characters visibly (see unified_diff).
            console.print(
                Syntax(request.diff, "diff", theme="ansi_dark", background_color="default")
            )
        if request.command is not None:
            console.print(f"$ {show_controls(request.command)}", markup=False)
        while True:
            console.print("Apply? [y]es / [n]o / [a]lways / [q]uit: ", end="", markup=False)
            self.stderr.flush()
            line = self.stdin.readline()
            if not line:
                console.print("")
                return ApprovalDecision.NO
            answer = _ANSWERS.get(line.strip().lower())
            if answer is not None:
                return answer
