"""`assistant model`: download, list and inspect model files. `pull` is one
of only two places that use the network (the other is `--endpoint`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assistant import netguard
from assistant.errors import UsageError

console = Console()
err_console = Console(stderr=True)
model_app = typer.Typer(help="Download, list and inspect model files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")


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

    configured = _configured_model()
    if configured is not None:
        console.print(configured, markup=False, highlight=False, soft_wrap=True)
    local = list_local_models()
    if local:
        table = Table("file", "size")
        for path in local:
            table.add_row(path.name, f"{path.stat().st_size / 1e9:.2f} GB")
        console.print(f"models in {models_dir()}:", markup=False, highlight=False, soft_wrap=True)
        console.print(table)
    elif configured is not None:
        console.print(f"no models in {models_dir()}", markup=False, highlight=False)
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


def _configured_model() -> str | None:
    """The model the settings choose (ASSISTANT_MODEL, a config file), with
    where that came from and whether the file is there; None when none is set
    and the default applies."""
    from assistant.config import load_settings
    from assistant.errors import AssistantError
    from assistant.llm.models import resolve_model_path
    from assistant.repo.git import repo_root_or_cwd

    settings = load_settings(repo_root_or_cwd())
    if not settings.model:
        return None
    origin = settings.sources.get("model", "default")
    try:
        path = resolve_model_path(settings)
    except AssistantError:
        return f"model in use: {settings.model} (from {origin}; the file is missing)"
    size = f", {path.stat().st_size / 1e9:.2f} GB" if path.is_file() else ""
    return f"model in use: {path} (from {origin}{size})"


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


def human_count(n: int) -> str:
    """134515008 → "134.5 M" (the JSON output keeps the exact number)."""
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)
