"""The `assistant` command line. Each command group lives in
`assistant/cli/`; this module wires them, installs the network guard and
turns errors into one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from assistant import __version__, netguard
from assistant.cli import options
from assistant.config import load_settings, user_cache_dir, user_config_file
from assistant.errors import AssistantError, ModelLoadError, UsageError
from assistant.repo.git import repo_root_or_cwd

# Start-up matters (the git hook runs this on every commit): modules that only
# one command needs are imported inside it, and tests/cli/test_startup.py
# keeps the model stack (numpy, llama.cpp, tools, rich.markdown) out of here.

app = typer.Typer(
    name="assistant",
    help=(
        "A private coding assistant: a local model reads and edits your repo; "
        "nothing leaves the machine.\n\n"
        "Exit codes: 0 done, 1 the task failed (or review findings at --fail-on), "
        "2 usage error, 3 no usable model."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="Download, list and inspect model files.", no_args_is_help=True)
config_app = typer.Typer(
    help="Show the merged configuration; trust a repository's own settings.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
app.add_typer(config_app, name="config")

console = Console()
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"assistant {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Full tracebacks and llama.cpp's log; works before or after any command.",
        ),
    ] = False,
) -> None:
    options.set_verbose(verbose or options.verbose_requested())


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"assistant {__version__}")


@model_app.command("pull")
def model_pull(
    name: Annotated[str, typer.Argument(help="Model to download.")] = "gemma-4-e4b",
    force: Annotated[bool, typer.Option("--force", help="Download again.")] = False,
    hf_endpoint: Annotated[
        bool,
        typer.Option(
            "--hf-endpoint",
            help="Download from the host in HF_ENDPOINT (a mirror), not the Hugging Face hub.",
        ),
    ] = False,
) -> None:
    """Download a model once (resumable, size and sha256 checked). The only
    command besides --endpoint that uses the network."""
    from assistant.llm.models import KNOWN_MODELS, pull

    if name not in KNOWN_MODELS:
        raise typer.BadParameter(f"known models: {', '.join(sorted(KNOWN_MODELS))}")
    err_console.print(
        f"downloading {KNOWN_MODELS[name].filename} from {KNOWN_MODELS[name].repo_id}"
    )
    path = pull(
        name, force=force, allow_endpoint=hf_endpoint
    )  # huggingface_hub draws its own progress bar
    console.print(f"[green]ready:[/] {path}")


@model_app.command("list")
def model_list() -> None:
    """Models on disk, and the ones `model pull` knows."""
    from rich.table import Table

    from assistant.llm.models import KNOWN_MODELS, list_local_models, models_dir

    local = list_local_models()
    if local:
        table = Table("file", "size")
        for path in local:
            table.add_row(path.name, f"{path.stat().st_size / 1e9:.2f} GB")
        console.print(f"models in {models_dir()}:", markup=False, highlight=False, soft_wrap=True)
        console.print(table)
    else:
        console.print(
            f"no models in {models_dir()} yet: `assistant model pull` downloads the default "
            "one, or pass --model PATH to use a GGUF you have.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print("known to `assistant model pull`:", markup=False, highlight=False)
    known = Table("name", "file", "description")
    for model in KNOWN_MODELS.values():
        known.add_row(model.name, model.filename, model.description)
    console.print(known)


@model_app.command("info")
def model_info(
    path: Annotated[Path | None, typer.Argument(help="A GGUF file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Show a llama-server's model instead.")
    ] = None,
) -> None:
    """Read a GGUF's metadata without loading its weights (or ask a llama-server)."""
    from rich.table import Table

    from assistant.llm.gguf import read_gguf_info
    from assistant.protocols.detect import describe_template, protocol_for_template

    if endpoint is not None:
        _print_endpoint(endpoint, as_json)
        return
    if path is None:
        raise UsageError("give a GGUF file, or --endpoint URL for a llama-server")
    info = read_gguf_info(path)
    data = {
        "path": str(info.path),
        "name": info.name,
        "architecture": info.architecture,
        "parameters": info.parameter_count,
        "quantization": info.quantization,
        "context_length": info.context_length,
        "chat_template": info.chat_template is not None,
        "protocol": protocol_for_template(info.chat_template),
        **describe_template(info.chat_template),
        "gguf_version": info.version,
        "tensors": info.tensor_count,
    }
    if as_json:
        print(json.dumps(data))
        return
    table = Table(show_header=False)
    for key, value in data.items():
        shown = human_count(value) if key == "parameters" and isinstance(value, int) else value
        table.add_row(key, str(shown))
    console.print(table)


def _print_endpoint(url: str, as_json: bool) -> None:
    from rich.table import Table

    from assistant.agent.runtime import API_KEY_ENV
    from assistant.llm.remote import server_summary
    from assistant.protocols.detect import protocol_for_template

    netguard.allow_endpoint(url)

    summary = server_summary(url, os.environ.get(API_KEY_ENV) or None)
    template = str(summary.pop("chat template") or "")
    summary["chat template"] = bool(template)
    summary["protocol"] = protocol_for_template(template or None)
    if as_json:
        print(json.dumps(summary))
        return
    table = Table(show_header=False)
    for key, value in summary.items():
        table.add_row(key, str(value))
    console.print(table)


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The merged configuration, and where each value came from."""
    from rich.table import Table

    settings = load_settings(repo_root_or_cwd())
    for note in settings.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    values = {
        name: {"value": getattr(settings, name), "source": source}
        for name, source in settings.sources.items()
    }
    if as_json:
        print(json.dumps(values))
        return
    from assistant.config import REPO_FILE

    root = repo_root_or_cwd()
    for label, path in (("user config", user_config_file()), ("repo config", root / REPO_FILE)):
        state = "" if path.is_file() else "  (not present)"
        console.print(f"{label}: {path}{state}", markup=False, highlight=False, soft_wrap=True)
    table = Table("setting", "value", "from")
    for name, entry in values.items():
        table.add_row(name, toml_value(entry["value"]), str(entry["source"]))
    console.print(table)


@config_app.command("detect")
def config_detect(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Propose lint_command and test_command from the repository (pyproject.toml,
    ruff, package.json, go.mod, Cargo.toml). Prints TOML to copy; changes nothing."""
    from assistant.repo.detect_checks import detect_checks

    root = repo_root_or_cwd()
    found = detect_checks(root)
    if as_json:
        print(
            json.dumps(
                {
                    "lint_command": found.lint_command,
                    "test_command": found.test_command,
                    "reasons": found.reasons,
                }
            )
        )
        return
    if not found.reasons:
        err_console.print("no lint or test command found in this repository", highlight=False)
        return
    for reason in found.reasons:
        print(f"# {reason}")
    for key in ("lint_command", "test_command"):
        value = getattr(found, key)
        if value is not None:
            print(f"{key} = {json.dumps(value)}")
    err_console.print(
        f"add these to {user_config_file()} (or to .assistant.toml, then `assistant config "
        "trust`); `assistant edit --checks` and chat's /test and /lint use them",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def human_count(n: int) -> str:
    """134515008 → "134.5 M" (the JSON output keeps the exact number)."""
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


def toml_value(value: object) -> str:
    """A setting as it would be written in a TOML file; unset is `(unset)`
    (TOML has no null)."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


@config_app.command("trust")
def config_trust(
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Stop trusting this repository's settings.")
    ] = False,
) -> None:
    """Let this repository's .assistant.toml set approval, allow_commands, model
    and endpoint. Recorded for this file's current content: any change needs
    trust again."""
    from assistant.config import REPO_FILE, set_trust
    from assistant.repo.git import require_repo_root

    root = require_repo_root(Path.cwd())
    digest = set_trust(root, not revoke)
    if revoke:
        console.print(f"{root / REPO_FILE}: no longer trusted", highlight=False)
    elif digest is None:
        raise AssistantError(f"{root / REPO_FILE} does not exist; nothing to trust")
    else:
        console.print(
            f"trusted {root / REPO_FILE} (sha256 {digest[:12]}…); "
            "it is asked again when the file changes",
            highlight=False,
        )


@app.command()
def doctor() -> None:
    """Check the set-up: model, threads, CPU features, llama.cpp, git, grammars, network guard."""
    import platform
    import shutil

    from rich.table import Table

    from assistant.llm.llama import physical_cores
    from assistant.llm.models import resolve_model_path

    rows: list[tuple[str, str]] = []
    failed: AssistantError | None = None
    rows.append(("assistant", __version__))
    rows.append(("python", platform.python_version()))
    settings = load_settings(repo_root_or_cwd())
    try:
        model_path = resolve_model_path(settings)
        from assistant.llm.gguf import read_gguf_info

        read_gguf_info(model_path)  # truncated or corrupt: said here, not at load
        rows.append(("model", str(model_path)))
    except AssistantError as exc:
        rows.append(("model", f"[red]{escape(exc.message)}[/]"))
        failed = exc
    rows.append(("threads", f"{settings.threads or physical_cores()} (physical cores)"))
    if settings.endpoint:
        from assistant.agent.runtime import API_KEY_ENV
        from assistant.llm.remote import server_summary

        netguard.allow_endpoint(settings.endpoint)
        try:
            summary = server_summary(settings.endpoint, os.environ.get(API_KEY_ENV) or None)
            summary["chat template"] = bool(summary["chat template"])
            rows.extend((f"server {key}", str(value)) for key, value in summary.items())
        except AssistantError as exc:
            rows.append(("server", f"[red]{exc.message}[/]"))
    try:
        import llama_cpp

        system = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
        rows.append(("llama-cpp-python", llama_cpp.__version__))
        rows.append(("llama.cpp", system))
    except Exception as exc:  # a broken native build must still be reportable
        rows.append(("llama-cpp-python", f"[red]unavailable: {exc}[/]"))
    git = shutil.which("git")
    rows.append(("git", git or "[red]not found[/]"))
    from assistant.repo.languages import grammar_wheels

    found, missing = grammar_wheels()
    rows.append(("tree-sitter grammars", ", ".join(found) or "none"))
    if missing:
        rows.append(("missing grammars", f"[yellow]{', '.join(missing)}[/]"))
    rows.append(("network guard", "on" if netguard.is_installed() else "[red]off[/]"))
    rows.append(("cache", str(user_cache_dir())))
    table = Table(show_header=False, title="assistant doctor")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if isinstance(failed, ModelLoadError):  # a model file that is there but unusable
        raise typer.Exit(failed.exit_code)


def _register_commands() -> None:
    # A command module that fails to import is a bug to surface, not to hide.
    from assistant.cli import chat, eval, hook, map, oneshot, review, tool

    for module in (tool, map, chat, oneshot, review, hook, eval):
        module.register(app)


_register_commands()


def _verbose_first(argv: list[str]) -> list[str]:
    """`--verbose` anywhere before a `--` is the root option: move it to the
    front so that `assistant map --verbose` works like `assistant --verbose map`."""
    cut = argv.index("--") if "--" in argv else len(argv)
    if "--verbose" not in argv[:cut]:
        return argv
    return ["--verbose", *(a for a in argv[:cut] if a != "--verbose"), *argv[cut:]]


def main() -> None:
    netguard.install()
    argv = _verbose_first(sys.argv[1:])
    verbose = "--verbose" in argv[:1] or os.environ.get("ASSISTANT_VERBOSE") == "1"
    options.set_verbose(verbose)
    try:
        app(args=argv, prog_name="assistant")
    except AssistantError as exc:
        if verbose:
            raise
        err_console.print(f"[red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if verbose:
            raise
        err_console.print(
            f"[red]error:[/] unexpected {type(exc).__name__}: {exc} (run with --verbose for details)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
