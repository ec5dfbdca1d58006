"""User-facing errors. Each carries the exit code the CLI returns and a one-line
message that says what to do; the CLI prints it without a traceback."""

from __future__ import annotations


class AssistantError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(AssistantError):
    exit_code = 2


class ModelNotFoundError(AssistantError):
    exit_code = 3


class ModelLoadError(AssistantError):
    """The file exists but llama.cpp cannot use it (corrupt, truncated, unsupported)."""

    exit_code = 3


class NotARepositoryError(AssistantError):
    exit_code = 2


class NetworkBlockedError(AssistantError):
    exit_code = 1


class GenerationFailed(AssistantError):
    """The engine stopped in the middle of an answer (a server that died or
    dropped the connection). The turn ends with what was generated so far."""

    exit_code = 1
