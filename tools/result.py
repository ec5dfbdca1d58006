"""What a tool call returns, and the one exception tools raise internally.

The model sees `ToolResult.text` only; the renderer also gets `diff`. Tools signal a
refusal by raising `ToolError`; `Toolbox.call` turns it into a result, so bad model
input never escapes as an exception."""

from __future__ import annotations

from dataclasses import dataclass

ERROR_PREFIX = "error: "


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    text: str  # what the model sees
    diff: str = ""  # unified diff of a change, for the renderer
    path: str | None = None  # repo-relative posix path the call was about, if any

    @classmethod
    def error(cls, message: str, path: str | None = None) -> ToolResult:
        text = message if message.startswith(ERROR_PREFIX) else ERROR_PREFIX + message
        return cls(ok=False, text=text, path=path)


class ToolError(Exception):
    """A refusal with a message the model can act on (without the `error:` prefix)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def result(self) -> ToolResult:
        return ToolResult.error(self.message, self.path)
