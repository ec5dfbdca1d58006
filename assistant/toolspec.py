"""How a tool is declared to a model and what a call returns: shared by the tools
(which produce specs and results), the protocols (which render declarations,
grammars and results) and the agent loop."""

from __future__ import annotations

import json
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


ERROR_PREFIX = "error: "


@dataclass(frozen=True)
class ToolResult:
    """One tool call's outcome, the only type for it: a tool makes it (ok, text,
    diff, path), the loop names it, the protocol renders it for the model (name,
    content, is_error) and the session saves that part."""

    ok: bool
    text: str  # what the model sees
    diff: str = ""  # unified diff of a change, for the renderer
    path: str | None = None  # repo-relative posix path the call was about, if any
    name: str = ""  # the tool that answered (set by the loop)
    data: dict[str, Any] | None = None  # a structured answer, sent instead of `text`

    @property
    def is_error(self) -> bool:
        return not self.ok

    @property
    def content(self) -> str | dict[str, Any]:
        """What the protocol sends: the structured answer if any, else the text."""
        return self.data if self.data is not None else self.text

    @classmethod
    def error(cls, message: str, path: str | None = None, name: str = "") -> ToolResult:
        text = message if message.startswith(ERROR_PREFIX) else ERROR_PREFIX + message
        return cls(ok=False, text=text, path=path, name=name)

    @classmethod
    def reply(cls, name: str, content: str | dict[str, Any], is_error: bool = False) -> ToolResult:
        """The model-facing part alone (no diff, no path): as the loop answers a call
        it did not run, and as a saved session restores one."""
        if isinstance(content, dict):
            return cls(not is_error, json.dumps(content), name=name, data=content)
        return cls(not is_error, content, name=name)
