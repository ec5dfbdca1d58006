"""The CLI side of checks and the fix loop, shared by `edit` and chat: the
options, how a check's result is shown, and one call that runs the loop on a
runtime."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from assistant.agent.checks import CheckCommand
from assistant.agent.fixloop import FixReport, fix_loop
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
        "--fix-rounds", min=0, help="Most fix attempts after a failed check [default: 2]."
    ),
]


class Renderer(Protocol):
    def __call__(self, event: AgentEvent) -> None: ...
    def info(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def record(self, kind: str, **fields: Any) -> None: ...
    def close(self) -> None: ...


def show_check(renderer: Renderer, event: CheckFinished, as_json: bool) -> None:
    """One line per check, and the clipped output of a failure."""
    if as_json:
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
    where = f"round {event.round}" if event.round else "after the change"
    if event.ok:
        renderer.info(f"✓ {event.kind} passed: {event.command} ({where}, {event.seconds:.1f} s)")
        return
    status = "timed out" if event.timed_out else f"exit code {event.exit_code}"
    renderer.warn(f"✗ {event.kind} failed: {event.command} ({status}, {where})")
    if event.output:
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
        on_check=lambda event: show_check(renderer, event, as_json),
        timeout=float(runtime.settings.check_timeout),
    )


def still_failing_message(report: FixReport, changes: int) -> str:
    what = ", ".join(sorted({r.kind.value for r in report.results if not r.ok}))
    tries = f"after {report.rounds} fix round{'s' if report.rounds != 1 else ''}"
    return (
        f"the checks still fail ({what}) {tries}; the change stays "
        f"applied (undo it with `assistant undo {changes}`)"
    )
