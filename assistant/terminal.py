"""What untrusted text may put on a terminal.

A model's answer, its thoughts, the arguments of its tool calls, a finding
it writes and the file lines a review quotes can all carry escape sequences
(an ESC that clears the screen or retitles the window, a CR that overwrites
a line). Everything printed for a person goes through one of these, so those
characters are shown, never obeyed. JSON output keeps the exact text (its
encoder escapes them)."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and C1 (0x9b is a one-byte CSI).
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Those, and the Unicode format characters that reorder or hide text on screen
# (bidi overrides and isolates, zero-width marks): for code and diffs, where a
# reordered line could pass for another.
CONTROL_CLASS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
)
_CONTROL = re.compile(f"[{CONTROL_CLASS}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␍ for CR, ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def printable(text: str) -> str:
    """Prose for the terminal: control characters made visible, tabs and
    newlines kept, and Unicode formatting kept (an emoji's zero-width joiner)."""
    return _TERMINAL_CONTROL.sub(_visible, text)


def show_controls(text: str) -> str:
    """Code and diffs for the terminal: control and invisible formatting
    characters made visible (tabs and newlines kept), so a diff cannot hide or
    rewrite lines on the approver's screen."""
    return _CONTROL.sub(_visible, text)


def print_diff(diff: str) -> None:
    """A unified diff on stderr: coloured on a terminal, plain text elsewhere
    (stdout stays for what a command's caller reads)."""
    import sys

    if not diff:
        return
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.syntax import Syntax

        Console(file=sys.stderr).print(
            Syntax(diff, "diff", theme="ansi_dark", background_color="default")
        )
    else:
        sys.stderr.write(diff if diff.endswith("\n") else diff + "\n")
