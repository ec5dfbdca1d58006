"""The Toolbox: the agent loop's one entry point to the tools.

`specs()` lists what the model may call under the current policy; `call()` validates
the arguments against the same signature the spec came from, runs the tool, and
always returns a `ToolResult`: unknown tools, wrong types, sandbox refusals and even
unexpected failures become `error: ...` text the model can act on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.tools.approval import ApprovalPolicy, Approver
from assistant.tools.context import ToolContext
from assistant.tools.edit_file import edit_file
from assistant.tools.git_tools import git_diff, git_status
from assistant.tools.journal import UndoJournal, UndoOutcome
from assistant.tools.list_files import list_files
from assistant.tools.read_file import read_file
from assistant.tools.result import ToolError, ToolResult
from assistant.tools.run_command import run_command
from assistant.tools.sandbox import Sandbox
from assistant.tools.schema import ParamInfo, describe_params, spec_from_function
from assistant.tools.search import search
from assistant.tools.symbols_edit import insert_symbol, replace_symbol
from assistant.tools.symbols_read import find_references, outline, read_symbol
from assistant.tools.write_file import write_file

from assistant.toolspec import ToolSpec

ToolFunction = Callable[..., ToolResult]


@dataclass(frozen=True)
class ToolDef:
    func: ToolFunction
    spec: ToolSpec
    params: tuple[ParamInfo, ...]

    @property
    def name(self) -> str:
        return self.spec.name


def tool_def(func: ToolFunction, *, mutates: bool = False) -> ToolDef:
    return ToolDef(func, spec_from_function(func, mutates=mutates), tuple(describe_params(func)))


# Declaration order is the order the model sees them in.
ALL_TOOLS: tuple[ToolDef, ...] = (
    tool_def(read_file),
    tool_def(list_files),
    tool_def(search),
    tool_def(outline),
    tool_def(read_symbol),
    tool_def(find_references),
    tool_def(git_status),
    tool_def(git_diff),
    tool_def(edit_file, mutates=True),
    tool_def(replace_symbol, mutates=True),
    tool_def(insert_symbol, mutates=True),
    tool_def(write_file, mutates=True),
    tool_def(run_command, mutates=True),
)
TOOLS_BY_NAME: dict[str, ToolDef] = {t.name: t for t in ALL_TOOLS}
# The symbol-level tools (repo map parse); `symbol_tools=False` leaves them out,
# e.g. to compare a model with and without them (`assistant eval run --tools basic`).
SYMBOL_TOOLS: frozenset[str] = frozenset(
    {"outline", "read_symbol", "find_references", "replace_symbol", "insert_symbol"}
)

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _coerce(param: ParamInfo, value: object) -> object:
    """The value as the parameter's type, or raise a ToolError saying what was expected."""
    if value is None and not param.required:
        return None
    kind = param.kind
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return _text(param, value)
    elif kind is list and isinstance(value, list):
        item = param.item_kind or str
        if all(isinstance(v, item) for v in value):
            return [_text(param, v) if isinstance(v, str) else v for v in value]
        raise ToolError(f"{param.name} must be a list of {_TYPE_NAMES.get(item, 'values')}")
    expected = _TYPE_NAMES.get(kind, "a list")
    raise ToolError(f"{param.name} must be {expected}, not {type(value).__name__}")


def _text(param: ParamInfo, value: str) -> str:
    """A string argument must be text: a lone surrogate (JSON "\\ud800") is
    not, and would fail every encode after it (a path, the terminal, the tokenizer)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = ascii(value[exc.start : exc.end])
        raise ToolError(
            f"{param.name} holds {bad}, a lone surrogate, which is not text; give plain UTF-8 text"
        ) from None
    return value


class Toolbox:
    """The tools of one session, bound to one repository, policy and journal."""

    def __init__(
        self,
        root: Path,
        policy: ApprovalPolicy = ApprovalPolicy.ASK,
        approver: Approver | None = None,
        journal: UndoJournal | None = None,
        allow_commands: bool = False,
        dry_run: bool = False,
        *,
        allow_secrets: bool = False,
        allow_git_dir: bool = False,
        command_timeout: float = 60.0,
        state_path: Path | None = None,
        allow_protected: bool = False,
        symbol_tools: bool = True,
    ) -> None:
        self.symbol_tools = symbol_tools
        sandbox = Sandbox(root, allow_secrets=allow_secrets, allow_git_dir=allow_git_dir)
        self.context = ToolContext(
            sandbox,
            journal if journal is not None else UndoJournal.for_session(sandbox.root),
            policy,
            approver,
            dry_run=dry_run,
            allow_commands=allow_commands,
            command_timeout=command_timeout,
            state_path=state_path,
            allow_protected=allow_protected,
        )

    # ------------------------------------------------------------ state

    @property
    def root(self) -> Path:
        return self.context.root

    @property
    def policy(self) -> ApprovalPolicy:
        """Current policy; an "always" answer switches ASK to AUTO_EDIT."""
        return self.context.policy

    @policy.setter
    def policy(self, value: ApprovalPolicy) -> None:
        self.context.policy = value

    @property
    def journal(self) -> UndoJournal:
        return self.context.journal

    @property
    def quit_requested(self) -> bool:
        """The user answered "quit" to an approval: the agent loop should stop."""
        return self.context.quit_requested

    @property
    def dry_run(self) -> bool:
        return self.context.dry_run

    def pending_diff(self) -> str:
        """Dry run: the combined diff of all changes that would have been made."""
        return self.context.pending_diff()

    # ------------------------------------------------------------ tools

    def _offered(self, tool: ToolDef) -> bool:
        if tool.name == "run_command" and not self.context.allow_commands:
            return False
        if tool.name in SYMBOL_TOOLS and not self.symbol_tools:
            return False
        return not (tool.spec.mutates and self.context.policy is ApprovalPolicy.READ_ONLY)

    def specs(self) -> list[ToolSpec]:
        """Declarations for the model: no mutating tools in read-only mode, and
        run_command only when the user enabled commands."""
        return [t.spec for t in ALL_TOOLS if self._offered(t)]

    def call(self, name: str, arguments: Mapping[str, object] | None = None) -> ToolResult:
        """Run one tool call. Never raises for anything the model can send."""
        try:
            return self._call(name, arguments)
        except ToolError as exc:
            return exc.result()
        except RecursionError:
            return ToolResult.error(f"{name}: input too deeply nested; nothing was changed")
        except Exception as exc:  # a bug, not bad input: still never crash the loop
            return ToolResult.error(
                f"{name} failed unexpectedly ({type(exc).__name__}: {exc}); "
                "nothing was changed unless the result above says so"
            )

    def _call(self, name: str, arguments: Mapping[str, object] | None) -> ToolResult:
        tool = TOOLS_BY_NAME.get(name) if isinstance(name, str) else None
        if tool is None or not self._offered(tool):
            available = ", ".join(s.name for s in self.specs())
            if tool is not None and tool.name == "run_command":
                raise ToolError(
                    "run_command is disabled; the user can enable it with --allow-commands"
                )
            if tool is not None and tool.name in SYMBOL_TOOLS and not self.symbol_tools:
                raise ToolError(f"{tool.name} is turned off here; available tools: {available}")
            if tool is not None:
                raise ToolError(
                    f"{tool.name} is not available in read-only mode; describe the change "
                    "to the user instead"
                )
            raise ToolError(f"unknown tool {name!r}; available tools: {available}")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise ToolError(f"{name}: arguments must be an object of named parameters")
        known = {p.name: p for p in tool.params}
        unknown = [str(k) for k in arguments if k not in known]
        if unknown:
            raise ToolError(
                f"{name} has no parameter {', '.join(map(repr, unknown))}; its parameters "
                f"are: {', '.join(known) or 'none'}"
            )
        missing = [p.name for p in tool.params if p.required and p.name not in arguments]
        if missing:
            raise ToolError(f"{name} needs {', '.join(missing)}")
        kwargs: dict[str, Any] = {}
        for key, value in arguments.items():
            kwargs[str(key)] = _coerce(known[str(key)], value)
        return tool.func(self.context, **kwargs)

    # ------------------------------------------------------------ undo

    def undo(self, n: int = 1) -> list[UndoOutcome]:
        """Revert the last `n` changes of this session (see `UndoJournal.undo`); the
        model must read reverted files again before changing them."""
        outcomes = self.context.journal.undo(n)
        for outcome in outcomes:
            if outcome.reverted:
                self.context.forget(outcome.path)
        return outcomes
