"""Typed events produced by a protocol's streaming parser and consumed by the
renderer and the agent loop. Nothing else crosses that boundary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


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
