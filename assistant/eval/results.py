"""Per-task records, the summary over them, and the results file.

The results file is one JSON document, rewritten atomically after each task,
so an interrupted run leaves a complete file that `--resume` continues."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from assistant.errors import UsageError
from assistant.fsutil import atomic_write

FORMAT_VERSION = 1


@dataclass
class TryRecord:
    """One attempt: the agent's turn, then the tests."""

    outcome: str  # done / step_limit / context_full / repeated / empty / truncated
    passed: bool
    test_status: str  # passed / failed / timeout / crashed
    tool_calls: int  # all calls the model made, malformed ones included
    well_formed: int  # calls the parser accepted
    failed_edits: int  # edit_file/write_file calls that did not apply
    tokens_in: int  # prompt tokens the engine evaluated
    tokens_out: int
    agent_seconds: float
    test_seconds: float
    generation_ms: float
    test_output: str = ""


@dataclass
class TaskResult:
    slug: str
    tries: list[TryRecord] = field(default_factory=list)
    error: str = ""  # the harness failed on this task (recorded; the run goes on)

    def passed_by(self, attempt: int) -> bool:
        return any(t.passed for t in self.tries[:attempt])

    @property
    def pass1(self) -> bool:
        return self.passed_by(1)

    @property
    def pass2(self) -> bool:
        return self.passed_by(2)

    @property
    def tool_calls(self) -> int:
        return sum(t.tool_calls for t in self.tries)

    @property
    def well_formed(self) -> int:
        return sum(t.well_formed for t in self.tries)

    @property
    def failed_edits(self) -> int:
        return sum(t.failed_edits for t in self.tries)

    @property
    def tokens_in(self) -> int:
        return sum(t.tokens_in for t in self.tries)

    @property
    def tokens_out(self) -> int:
        return sum(t.tokens_out for t in self.tries)

    @property
    def seconds(self) -> float:
        return sum(t.agent_seconds + t.test_seconds for t in self.tries)

    @property
    def tokens_per_second(self) -> float:
        ms = sum(t.generation_ms for t in self.tries)
        return self.tokens_out / (ms / 1000) if ms > 0 else 0.0

    @property
    def outcome(self) -> str:
        if self.error:
            return "error"
        return self.tries[-1].outcome if self.tries else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "pass1": self.pass1,
            "pass2": self.pass2,
            "outcome": self.outcome,
            "error": self.error,
            "tool_calls": self.tool_calls,
            "well_formed": self.well_formed,
            "failed_edits": self.failed_edits,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "seconds": round(self.seconds, 2),
            "tokens_per_second": round(self.tokens_per_second, 2),
            "tries": [asdict(t) for t in self.tries],
        }

    @classmethod
    def from_json(cls, data: Any) -> TaskResult:
        names = {f.name for f in fields(TryRecord)}
        try:
            tries = [TryRecord(**{k: v for k, v in t.items() if k in names}) for t in data["tries"]]
            return cls(str(data["slug"]), tries, str(data.get("error", "")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"a malformed task record ({exc})") from None


@dataclass(frozen=True)
class Summary:
    tasks: int
    pass1: float
    pass2: float
    well_formed_rate: float
    failed_edits: int
    median_seconds: float
    tokens_per_second: float

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def summarize(results: list[TaskResult]) -> Summary:
    n = len(results)
    calls = sum(r.tool_calls for r in results)
    out = sum(r.tokens_out for r in results)
    ms = sum(t.generation_ms for r in results for t in r.tries)
    return Summary(
        tasks=n,
        pass1=sum(r.pass1 for r in results) / n if n else 0.0,
        pass2=sum(r.pass2 for r in results) / n if n else 0.0,
        well_formed_rate=sum(r.well_formed for r in results) / calls if calls else 0.0,
        failed_edits=sum(r.failed_edits for r in results),
        median_seconds=statistics.median(r.seconds for r in results) if n else 0.0,
        tokens_per_second=out / (ms / 1000) if ms > 0 else 0.0,
    )


@dataclass
class RunFile:
    """What a results file holds: the run's identity and its finished tasks."""

    model: str
    suite: str
    tries: int
    settings: dict[str, Any]
    results: list[TaskResult]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "model": self.model,
            "suite": self.suite,
            "tries": self.tries,
            "settings": self.settings,
            "summary": summarize(self.results).to_json(),
            "tasks": [r.to_json() for r in self.results],
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, (json.dumps(self.to_json(), indent=1) + "\n").encode("utf-8"))


def load_run(path: Path) -> RunFile:
    """A results file; a clear one-line error when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError("not an eval results file of this version")
        return RunFile(
            str(data.get("model", "")),
            str(data.get("suite", "")),
            int(data.get("tries", 1)),
            dict(data.get("settings", {})),
            [TaskResult.from_json(t) for t in data["tasks"]],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read results file {path}: {exc}") from None
