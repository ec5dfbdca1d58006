"""run_command: a shell command in the repository root. Off unless the user enables
it, and asked about every time whatever the approval policy (a command can do
anything the user can, so "always" for edits never covers it); a timeout kills the
whole process group; output is capped to its tail, where errors usually are."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

from assistant.tools.approval import ApprovalRequest
from assistant.tools.context import ToolContext
from assistant.tools.result import ToolError, ToolResult

MAX_OUTPUT = 10_000
MAX_COMMAND = 4_000


def _tail(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    if len(text) <= MAX_OUTPUT:
        return text
    return f"[cut: first {len(text) - MAX_OUTPUT} characters omitted]\n" + text[-MAX_OUTPUT:]


def run_command(ctx: ToolContext, command: str) -> ToolResult:
    """Run a shell command in the repository root (the user approves each one) and
    return its exit code and output (stdout and stderr together, tail kept).

    Args:
        command: the command line, e.g. 'pytest -x tests/test_app.py'
    """
    if not ctx.allow_commands:
        raise ToolError("run_command is disabled; the user can enable it with --allow-commands")
    if not command.strip() or "\0" in command:
        raise ToolError("command is empty or contains a NUL byte")
    if len(command) > MAX_COMMAND:
        raise ToolError(f"command is too long ({len(command)} characters)")
    request = ApprovalRequest(tool="run_command", summary=f"run `{command}`", command=command)
    if ctx.dry_run:
        return ToolResult(True, f"dry run: would run `{command}`; nothing was run")
    ctx.approve(request, always_ask=True)
    timeout = ctx.command_timeout
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=ctx.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        raise ToolError(
            f"`{command}` timed out after {timeout:g} s and was killed; output so far:\n"
            + _tail(output)
        ) from None
    return ToolResult(True, f"exit code {proc.returncode}\n" + _tail(output))
