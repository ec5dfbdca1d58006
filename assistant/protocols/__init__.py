"""Chat protocols: messages and tools to token ids, generated token ids to events.

`make_protocol(tokenizer, chat_template, metadata)` picks Gemma 4 native or the
generic (template + tagged JSON) protocol; see `base.py` for the interface."""

from assistant.protocols.base import (
    ChatProtocol,
    GrammarOptions,
    Message,
    ParsedTurn,
    Role,
    StreamParser,
    ToolChoice,
    ToolChoiceMode,
    ToolResult,
)
from assistant.protocols.detect import make_protocol, protocol_for_metadata, protocol_for_template

__all__ = [
    "ChatProtocol",
    "GrammarOptions",
    "Message",
    "ParsedTurn",
    "Role",
    "StreamParser",
    "ToolChoice",
    "ToolChoiceMode",
    "ToolResult",
    "make_protocol",
    "protocol_for_metadata",
    "protocol_for_template",
]
