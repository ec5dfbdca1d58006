"""The fix loop: after the model's changes run the user's checks; when they
fail, hand the model the clipped output as a new user message and let it fix
the code; repeat up to `rounds` times.

It drives turns through a callable (`Agent.run` bound to a renderer, or a
test's stand-in), so the same loop serves `assistant edit --test`, chat's
`/test` and `auto_test`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.agent.checks import DEFAULT_TIMEOUT, CheckCommand, CheckKind, CheckResult, run_check
from assistant.config import Settings
from assistant.events import CheckFinished, TurnFinished

DEFAULT_ROUNDS = 2

RunTurn = Callable[[str], TurnFinished]
OnCheck = Callable[[CheckFinished], None]


@dataclass
class FixReport:
    passed: bool  # the last round's checks all passed (or there was nothing to check)
    rounds: int  # fix rounds used (0: the first check decided)
    results: list[CheckResult] = field(default_factory=list)  # the last round's
    turns: list[TurnFinished] = field(default_factory=list)  # the fix turns
    changed_files: list[str] = field(default_factory=list)  # by the fix turns
    stopped: bool = False  # a fix turn was cancelled or quit: no further rounds


def run_checks(
    checks: Sequence[CheckCommand],
    root: Path,
    files: Sequence[str],
    round_: int,
    on_check: OnCheck,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[CheckResult]:
    """Every check in order (lint first, it is faster), each reported as it ends."""
    results: list[CheckResult] = []
    ordered = sorted(checks, key=lambda c: c.kind is not CheckKind.LINT)
    for check in ordered:
        result = run_check(check, root, files, timeout=timeout)
        if result is None:
            continue
        results.append(result)
        on_check(
            CheckFinished(
                result.kind.value,
                result.command,
                result.exit_code,
                result.output,
                round_,
                result.timed_out,
                round(result.seconds, 2),
            )
        )
    return results


_PYTEST_COUNTS = re.compile(
    r"(\d+ (?:failed|errors?|passed|skipped|xfailed|xpassed|warnings?|deselected)"
    r"(?:, \d+ \w+)*) in [\d.]+\s*s"
)
_PYTEST_ITEM = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
_LINT_LOCATION = re.compile(r"^\s*([^\s:][^:\n]*\.\w+:\d+)(?::\d+)?[: ]", re.MULTILINE)
MAX_NAMED = 3  # failing tests (or lint locations) named in the one-line summary


def failure_summary(event: CheckFinished) -> str:
    """What failed, in a few words for the user's one line per round:
    `1 failed (test_ops.py::test_sub)`, `3 problems (calc/ops.py:4, …)`, or the
    last line of the output when it is neither pytest's nor a linter's. The
    model gets the whole (clipped) output; this is only the user's line."""
    if event.timed_out:
        return "timed out"
    output = event.output
    counts = _PYTEST_COUNTS.findall(output)
    if counts:
        kept = [
            part
            for part in counts[-1].split(", ")
            if part.split(" ", 1)[1] in ("failed", "error", "errors")
        ]
        items = list(dict.fromkeys(_PYTEST_ITEM.findall(output)))
        head = ", ".join(kept) or counts[-1]
        return head + _named(items)
    places = list(dict.fromkeys(_LINT_LOCATION.findall(output)))
    if places and event.kind == CheckKind.LINT.value:
        return f"{len(places)} problem{'s' if len(places) != 1 else ''}" + _named(places)
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    status = f"exit code {event.exit_code}" if event.exit_code is not None else "did not run"
    return f"{status}: {last[:100]}" if last else status


def _named(items: Sequence[str]) -> str:
    if not items:
        return ""
    shown = ", ".join(items[:MAX_NAMED])
    more = f", +{len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return f" ({shown}{more})"


def feedback(failed: Sequence[CheckResult]) -> str:
    """The user message that tells the model what failed."""
    from assistant import prompts

    kinds = {r.kind for r in failed}
    if kinds == {CheckKind.TEST}:
        headline = "The tests fail"
    elif kinds == {CheckKind.LINT}:
        headline = "The linter reports errors"
    else:
        headline = "The linter reports errors and the tests fail"
    parts = []
    for result in failed:
        status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        parts.append(f"$ {result.command}  ({status})\n{result.output}")
    template = prompts.load("fix")
    return template.replace("{headline}", headline).replace("{failures}", "\n\n".join(parts))


def fix_loop(
    run_turn: RunTurn,
    checks: Sequence[CheckCommand],
    root: Path,
    files: Sequence[str],
    *,
    rounds: int = DEFAULT_ROUNDS,
    on_check: OnCheck,
    timeout: float = DEFAULT_TIMEOUT,
) -> FixReport:
    """Check `files` (the changes so far); while something fails and rounds
    are left, feed the failure back through `run_turn` and check again."""
    touched = list(files)
    report = FixReport(passed=True, rounds=0)
    round_ = 0
    while True:
        results = run_checks(checks, root, touched, round_, on_check, timeout)
        report.results = results
        failed = [r for r in results if not r.ok]
        report.passed = not failed
        if report.passed or round_ >= rounds:
            return report
        round_ += 1
        report.rounds = round_
        turn = run_turn(feedback(failed))
        report.turns.append(turn)
        for path in turn.changed_files:
            if path not in touched:
                touched.append(path)
            if path not in report.changed_files:
                report.changed_files.append(path)
        if turn.outcome.value in ("cancelled", "quit"):
            report.stopped = True
            report.results = results
            return report


def configured_checks(
    settings: Settings,
    *,
    test: str | None = None,
    lint: str | None = None,
    use_config: bool = False,
) -> list[CheckCommand]:
    """The checks to run: the commands given on the command line, and, with
    `use_config`, the configured `lint_command` / `test_command` for those not
    given. Both are PRIVILEGED settings: a repository's own `.assistant.toml`
    sets them only once the user trusts it (config.py), so an untrusted clone
    never gets a command run here."""
    checks: list[CheckCommand] = []
    for kind, flag, key in (
        (CheckKind.LINT, lint, "lint_command"),
        (CheckKind.TEST, test, "test_command"),
    ):
        command = flag
        if command is None and use_config:
            command = getattr(settings, key)
        if command and command.strip():
            checks.append(CheckCommand(kind, command.strip()))
    return checks
