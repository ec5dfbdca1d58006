"""write_file: create a file, or replace one the model has read in this session."""

from __future__ import annotations

from assistant.tools.context import ToolContext
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.sandbox import (
    MAX_TEXT_CHARS,
    TextFormat,
    decode_text,
    encode_text,
    has_control_chars,
    normalize_input,
    show_controls,
)

from assistant.repo.syntax import check_syntax


def write_file(ctx: ToolContext, path: str, content: str) -> ToolResult:
    """Create a new file with this content, or replace the whole content of a file you
    have read in this session (prefer edit_file for changes to part of a file).

    An existing file keeps its encoding, line endings and final-newline convention.

    Args:
        path: file path relative to the repository root; missing directories are created
        content: the complete new text of the file
    """
    if len(content) > MAX_TEXT_CHARS:
        raise ToolError(
            f"content is too long ({len(content)} characters; the limit is {MAX_TEXT_CHARS})"
        )
    resolved = ctx.sandbox.resolve(path)
    rel = resolved.rel
    before = ctx.current_bytes(resolved)
    if before is None:
        if has_control_chars(rel) or has_control_chars(path):
            raise ToolError(
                f"refusing to create a file whose name holds a newline, tab or other "
                f"control character ({show_controls(repr(path))}); pick a plain name"
            )
        fmt = TextFormat()
        text = normalize_input(content, fmt)
        if text and not text.endswith("\n"):
            text += "\n"
        after = encode_text(text, fmt, rel)
        lines = text.count("\n")
        return ctx.commit_change(
            "write_file",
            resolved,
            None,
            after,
            f"create {rel} ({lines} line{'s' if lines != 1 else ''})",
            f"ok: created {rel} ({lines} line{'s' if lines != 1 else ''})\n"
            + check_syntax(rel, None, text).message,
        )
    ctx.require_fresh(rel, before, "overwrite")
    old_text, fmt = decode_text(before, rel)
    text = normalize_input(content, fmt)
    if old_text:
        if old_text.endswith("\n") and text and not text.endswith("\n"):
            text += "\n"
        elif not old_text.endswith("\n") and text.endswith("\n"):
            text = text[:-1]
    after = encode_text(text, fmt, rel)
    if after == before:
        return ToolResult(True, f"ok: {rel} already has this content; nothing changed", path=rel)
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return ctx.commit_change(
        "write_file",
        resolved,
        before,
        after,
        f"overwrite {rel} ({lines} line{'s' if lines != 1 else ''})",
        f"ok: wrote {rel} ({lines} line{'s' if lines != 1 else ''})\n"
        + check_syntax(rel, old_text, text).message,
    )
