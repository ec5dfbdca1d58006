"""The CLI side of checks and the fix loop, shared by `edit` and chat: the
options, how a check's result is shown, and one call that runs the loop on a
runtime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from assistant.agent.checks import CheckCommand
from assistant.agent.fixloop import DEFAULT_ROUNDS, FixReport, failure_summary, fix_loop
from assistant.agent.runtime import Runtime
from assistant.events import AgentEvent, CheckFinished

if TYPE_CHECKING:  # the agent loop loads when a check runs
    from assistant.agent.loop import ToolStep

TestOpt = Annotated[
    str | None,
    typer.Option(
        "--test",
        help="Test command to run after the change (e.g. 'pytest -x -q'); on failure the "
        "model sees the output and fixes the code.",
    ),
]
LintOpt = Annotated[
    str | None,
    typer.Option(
        "--lint",
        help="Lint command to run after the change; '{files}' becomes the changed files "
        "(e.g. 'ruff check {files}').",
    ),
]
ChecksOpt = Annotated[
    bool,
    typer.Option("--checks", help="Run the configured lint_command and test_command."),
]
FixRoundsOpt = Annotated[
    int | None,
    typer.Option(
        "--fix-rounds",
        min=0,
        # No [brackets]: typer's Rich help reads them as markup and drops them.
        help=f"Most fix attempts after a failed check (default: {DEFAULT_ROUNDS}, "
        "setting fix_rounds).",
    ),
]


class Renderer(Protocol):
    def __call__(self, event: AgentEvent) -> None: ...
    def info(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def record(self, kind: str, **fields: Any) -> None: ...
    def close(self) -> None: ...


@dataclass
class CheckDisplay:
    """How checks are shown to the user: one line per check and round
    (`✗ round 2/3: pytest -q: 1 failed (test_ops.py::test_sub)`), and the
    clipped output of a failure once per command, the first time it fails
    (every time with --verbose). The model is shown the whole failure every
    round (fixloop.feedback); the user need not read it three times."""

    renderer: Renderer
    as_json: bool
    rounds: int  # fix rounds allowed: there are rounds + 1 checks at most
    verbose: bool = False
    _shown: set[str] = field(default_factory=set)

    def __call__(self, event: CheckFinished) -> None:
        renderer = self.renderer
        if self.as_json:
            renderer.record(
                "check",
                check=event.kind,
                command=event.command,
                exit_code=event.exit_code,
                ok=event.ok,
                timed_out=event.timed_out,
                round=event.round,
                seconds=event.seconds,
                output=event.output,
            )
            return
        renderer.close()
        where = f"round {event.round + 1}/{self.rounds + 1}"
        if event.ok:
            renderer.info(f"✓ {where}: {event.command} passed ({event.seconds:.1f} s)")
            return
        renderer.warn(f"✗ {where}: {event.command}: {failure_summary(event)}")
        if event.output and (self.verbose or event.command not in self._shown):
            self._shown.add(event.command)
            renderer.info(event.output)


def run_fix_loop(
    runtime: Runtime,
    renderer: Renderer,
    checks: Sequence[CheckCommand],
    files: Sequence[str],
    *,
    rounds: int,
    as_json: bool,
    plan: tuple[ToolStep, ...] | None = None,
) -> FixReport:
    """Check the changed `files` and let the model fix failures, `rounds` times at most."""
    from assistant.cli.options import verbose_requested

    def turn(message: str) -> Any:
        result = runtime.agent.run(message, renderer, plan=plan)
        renderer.close()
        return result

    return fix_loop(
        turn,
        checks,
        Path(runtime.root),
        files,
        rounds=rounds,
        on_check=CheckDisplay(renderer, as_json, rounds, verbose_requested()),
        timeout=float(runtime.settings.check_timeout),
    )


def still_failing_message(report: FixReport, changes: int) -> str:
    what = ", ".join(sorted({r.kind.value for r in report.results if not r.ok}))
    tries = f"after {report.rounds} fix round{'s' if report.rounds != 1 else ''}"
    return (
        f"the checks still fail ({what}) {tries}; the change stays "
        f"applied (undo it with `assistant undo {changes}`)"
    )
