"""Chat protocols: messages and tools to token ids, generated token ids to events."""
