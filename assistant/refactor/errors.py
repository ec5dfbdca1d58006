"""Why a rename did not happen, each with its exit code (README, `rename --help`)."""

from __future__ import annotations

from assistant.errors import AssistantError


class RenameRefused(AssistantError):
    """The rename would be wrong or is not defined: NEW clashes or is not a valid
    name, OLD is not found or is ambiguous. Nothing was changed."""

    exit_code = 1


class RenameNotApplied(AssistantError):
    """The user declined, or nobody could be asked and --yes was not given."""

    exit_code = 3


class RenameWriteFailed(AssistantError):
    """A write failed; every file already written was restored."""

    exit_code = 4


__all__ = ["RenameNotApplied", "RenameRefused", "RenameWriteFailed"]
