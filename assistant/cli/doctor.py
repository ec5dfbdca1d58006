"""`assistant doctor`: check the set-up, one row per part, and name what is missing."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.markup import escape

from assistant import __version__, netguard
from assistant.config import load_settings, user_cache_dir
from assistant.errors import AssistantError, ModelLoadError
from assistant.repo.git import repo_root_or_cwd

console = Console()


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)


def doctor_command() -> None:
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
