"""How a tool is declared to a model: shared by the tools (which produce specs),
the protocols (which render declarations and grammars) and the agent loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A string parameter whose schema carries this key set to True must name a file
# that exists in the repository; grammars may restrict it to those paths.
EXISTING_PATH_KEY = "x-existing-path"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    # JSON schema of the arguments: {"type": "object", "properties": {...}, "required": [...]}
    parameters: dict[str, Any]
    mutates: bool = False  # edits files or runs commands: hidden in read-only mode
