"""Every event that crosses a boundary, in one place: what a protocol's
streaming parser produces (text, thoughts, tool calls, done) and what the
agent loop adds around it (progress, tool runs, notices, stats, the turn's
end). The renderer consumes them and imports nothing of the loop."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.llm.engine import GenerationStats


class StopReason(enum.Enum):
    END_OF_TURN = "end_of_turn"  # the model closed its turn (<turn|> / <eos>)
    TOOL_CALL = "tool_call"  # the model stopped to wait for tool results
    MAX_TOKENS = "max_tokens"
    CANCELLED = "cancelled"  # Ctrl-C or an explicit cancel
    ERROR = "error"


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


Event = TextDelta | ThoughtDelta | ToolCall | ToolCallError | Done


# ---------------------------------------------------------------- events the agent loop adds


@dataclass(frozen=True)
class Progress:
    """Work before the first token: shown as a spinner until output starts."""

    message: str
    new_tokens: int = 0


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
class Notice:
    text: str
    warning: bool = False


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


@dataclass(frozen=True)
class TurnFinished:
    answer: str
    outcome: Outcome
    steps: int
    tool_calls: int
    changed_files: tuple[str, ...]
    stats: GenerationStats  # summed over the steps of the turn


AgentEvent = Event | Progress | ToolStarted | ToolFinished | Notice | StepStats | TurnFinished
Emit = Callable[[AgentEvent], None]
