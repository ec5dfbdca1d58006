"""Every event that crosses a boundary, in one place: what a protocol's
streaming parser produces (text, thoughts, tool calls, done) and what the
agent loop adds around it (progress, tool runs, notices, stats, the turn's
end). The renderer consumes them and imports nothing of the loop."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# StopReason is defined beside the engine, which is where generation stops.
from assistant.llm.engine import GenerationStats, StopReason


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThoughtDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw: str = ""


@dataclass(frozen=True)
class ToolCallError:
    """A call the parser could not accept: malformed, unknown tool, cut off.
    The agent loop sends `message` back to the model as a tool error."""

    message: str
    raw: str = ""


@dataclass(frozen=True)
class Done:
    reason: StopReason


@dataclass(frozen=True)
class Notice:
    """A line for the user, not part of the answer: from the agent loop (a
    step limit, a compaction) or from a parser (text that imitates the
    protocol, which is neither a call nor the answer)."""

    text: str
    warning: bool = False


Event = TextDelta | ThoughtDelta | ToolCall | ToolCallError | Notice | Done


# ---------------------------------------------------------------- events the agent loop adds


@dataclass(frozen=True)
class Progress:
    """Work before the first token: shown as a spinner until output starts."""

    message: str
    new_tokens: int = 0
    # While the prompt is read: tokens evaluated so far of `total`, and the
    # seconds that took (the renderer turns them into an ETA).
    done: int = 0
    total: int = 0
    seconds: float = 0.0
    # Set on the first Progress of each model step (1, 2… within a turn).
    step: int = 0


@dataclass(frozen=True)
class ToolStarted:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    name: str
    arguments: dict[str, Any]
    ok: bool
    text: str  # what the model sees
    diff: str = ""
    path: str | None = None


@dataclass(frozen=True)
class StepStats:
    stats: GenerationStats
    used_tokens: int
    n_ctx: int


class Outcome(enum.Enum):
    DONE = "done"
    EMPTY = "empty"  # the model said nothing
    STEP_LIMIT = "step_limit"
    REPEATED = "repeated"  # kept repeating an identical call
    CANCELLED = "cancelled"
    QUIT = "quit"  # the user answered "quit" to an approval
    CONTEXT_FULL = "context_full"
    TRUNCATED = "truncated"  # the answer hit the token limit
    FAILED = "failed"  # the engine broke off (a server that died); the session is kept

    @property
    def ok(self) -> bool:
        return self is Outcome.DONE

    @classmethod
    def after(cls, reason: StopReason) -> Outcome:
        """The turn's outcome when the model stopped for `reason` and no tool call
        follows: the one mapping from a stop reason to an outcome."""
        return _OUTCOME_AFTER.get(reason, cls.DONE)


_OUTCOME_AFTER = {
    StopReason.CANCELLED: Outcome.CANCELLED,
    StopReason.MAX_TOKENS: Outcome.TRUNCATED,
}


@dataclass(frozen=True)
class TurnFinished:
    answer: str
    outcome: Outcome
    steps: int
    tool_calls: int
    changed_files: tuple[str, ...]
    stats: GenerationStats  # summed over the steps of the turn


@dataclass(frozen=True)
class CheckFinished:
    """A lint or test command the user configured ran after the model's
    changes (`round` 0 is the first check, 1… the checks after each fix)."""

    kind: str  # "lint" | "test"
    command: str
    exit_code: int | None  # None: timed out or could not start
    output: str  # clipped to what matters; what the model is shown
    round: int
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


AgentEvent = Event | Progress | ToolStarted | ToolFinished | Notice | StepStats | TurnFinished
Emit = Callable[[AgentEvent], None]
