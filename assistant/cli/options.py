"""Options shared by the commands, declared once.

`@model_options` adds the model options (--model, --ctx, --threads, --trace,
--verbose, --temperature, --max-tokens, --max-steps, --think) to a typer
command and hands them to it as one `opts: ModelOptions` argument, so no
command repeats the block or the constructor call."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

_verbose = False


def set_verbose(value: bool) -> None:
    """The root `--verbose` (or ASSISTANT_VERBOSE=1), set once per process."""
    global _verbose
    _verbose = value


def verbose_requested() -> bool:
    """Whether the user asked for --verbose, wherever on the command line."""
    return _verbose


JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="JSON lines of events: text, tool calls, diffs, final, stats."),
]

# name → (annotation, default); the names are ModelOptions' fields.
_MODEL_OPTIONS: dict[str, tuple[Any, Any]] = {
    "model": (
        Annotated[
            str | None, typer.Option("--model", "-m", help="GGUF file (or a known model name).")
        ],
        None,
    ),
    "ctx": (Annotated[int | None, typer.Option("--ctx", help="Context size in tokens.")], None),
    "threads": (Annotated[int | None, typer.Option("--threads", help="CPU threads.")], None),
    "trace": (
        Annotated[
            Path | None,
            typer.Option("--trace", help="Append every model call to this JSON-lines file."),
        ],
        None,
    ),
    "verbose": (
        Annotated[
            bool, typer.Option("--verbose", help="Show llama.cpp's own log and full tracebacks.")
        ],
        False,
    ),
    "temperature": (
        Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")],
        None,
    ),
    "max_tokens": (
        Annotated[int | None, typer.Option("--max-tokens", help="Most tokens per model call.")],
        None,
    ),
    "max_steps": (
        Annotated[int, typer.Option("--max-steps", help="Most model calls in one task.")],
        12,
    ),
    "endpoint": (
        Annotated[
            str | None,
            typer.Option(
                "--endpoint",
                help="A llama-server URL (your team's) to use instead of a local model.",
            ),
        ],
        None,
    ),
    "chat_template": (
        Annotated[
            Path | None,
            typer.Option(
                "--chat-template", help="Jinja chat template used instead of the GGUF's own."
            ),
        ],
        None,
    ),
    "think": (
        Annotated[bool, typer.Option("--think", help="Let the model think first (slower).")],
        False,
    ),
}


def model_options(command: F) -> F:
    """Give `command` the shared model options; it receives them as `opts`."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "opts"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, (hint, default) in _MODEL_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        # Imported when a command runs: `--help` and `version` never need the runtime.
        from assistant.agent.runtime import ModelOptions

        values = {name: kwargs.pop(name) for name in _MODEL_OPTIONS}
        values["verbose"] = values["verbose"] or verbose_requested()
        return command(**kwargs, opts=ModelOptions(**values))

    # typer reads the signature and annotations: show it the combined list.
    wrapper.__signature__ = signature.replace(parameters=own + added)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + added}
    return wrapper  # type: ignore[return-value]
