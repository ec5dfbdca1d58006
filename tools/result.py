"""What a tool call returns, and the one exception tools raise internally.

The model sees `ToolResult.text` only; the renderer also gets `diff`. Tools signal a
refusal by raising `ToolError`; `Toolbox.call` turns it into a result, so bad model
input never escapes as an exception. `ToolResult` itself is the kernel's
(`assistant.toolspec`), shared with the protocols and the loop."""

from __future__ import annotations

from assistant.toolspec import ERROR_PREFIX, ToolResult


class ToolError(Exception):
    """A refusal with a message the model can act on (without the `error:` prefix)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def result(self) -> ToolResult:
        return ToolResult.error(self.message, self.path)


__all__ = ["ERROR_PREFIX", "ToolError", "ToolResult"]
