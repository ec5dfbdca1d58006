"""`assistant doctor`: check the set-up, one row per part, and name what is missing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from assistant import __version__, netguard
from assistant.config import Settings, load_settings, user_cache_dir
from assistant.errors import AssistantError, ModelLoadError
from assistant.repo.git import repo_root_or_cwd

console = Console()


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)


def doctor_command(
    probe: Annotated[
        bool,
        typer.Option(
            "--probe/--no-probe",
            help="Load the model and decode a short prompt in a child process, "
            "so that a native crash is reported with what killed it.",
        ),
    ] = True,
) -> None:
    """Check the set-up: model, threads, CPU features, llama.cpp, git, grammars, network guard."""
    import platform
    import shutil

    from rich.table import Table

    from assistant.llm.models import resolve_model_path

    rows: list[tuple[str, str]] = []
    failed: AssistantError | None = None
    model_path: Path | None = None
    rows.append(("assistant", __version__))
    rows.append(("python", platform.python_version()))
    settings = load_settings(repo_root_or_cwd())
    try:
        resolved = resolve_model_path(settings)
        from assistant.llm.gguf import read_gguf_info

        read_gguf_info(resolved)  # truncated or corrupt: said here, not at load
        rows.append(("model", str(resolved)))
        model_path = resolved
    except AssistantError as exc:
        rows.append(("model", f"[red]{escape(exc.message)}[/]"))
        failed = exc
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

        rows.append(("llama-cpp-python", llama_cpp.__version__))
        rows.extend(_cpu_rows(settings))
    except Exception as exc:  # a broken native build must still be reportable
        rows.append(("llama-cpp-python", f"[red]unavailable: {escape(str(exc))}[/]"))
    crashed = False
    if probe and model_path is not None and not settings.endpoint:
        outcome = _probe_row(model_path)
        rows.append(("first decode", outcome[0]))
        crashed = not outcome[1]
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
    if crashed:
        raise typer.Exit(ModelLoadError.exit_code)


def _cpu_rows(settings: Settings) -> list[tuple[str, str]]:
    """What llama.cpp sees of the CPU, and what the engine decides from it
    (llm/hardware.py: the same functions the load path calls)."""
    from assistant.llm import hardware

    report = hardware.cpu_report()
    plan = hardware.plan_load(report, hardware.ExtraBuffers(settings.extra_buffers))
    cores = hardware.default_cores()
    load = hardware.read_cpu_load()
    threads = hardware.threads_for(cores, settings.threads, load)
    if settings.threads is not None:
        threads_text = f"{threads} (threads, from {settings.sources.get('threads', 'settings')})"
    else:
        busy = "unknown" if load is None else str(load.others_running)
        threads_text = (
            f"{threads} now: {cores} usable physical cores, {busy} busy with other work "
            "(re-read while answering)"
        )
    features = ", ".join(sorted(report.features)) or "none reported"
    extra = ", ".join(report.extra_buffer_types) or "none"
    weights = escape(plan.summary)
    if report.has_amx and not plan.use_extra_buffers:
        weights = f"[yellow]{weights}[/]"
    elif report.has_amx:
        weights = f"[red]{weights}[/]"
    return [
        ("threads", threads_text),
        ("llama.cpp CPU features", features),
        ("extra buffer types", extra),
        ("weights load into", weights),
    ]


def _probe_row(model_path: Path) -> tuple[str, bool]:
    from assistant.agent.probe import run_probe

    outcome = run_probe(model_path, tokens=256, timeout=300)
    if outcome.report is not None:
        report = outcome.report
        return (
            f"ok: {report.prompt_tokens}-token prompt at {report.prompt_tokens_per_s:g} tok/s, "
            f"{report.generated_tokens} tokens generated at "
            f"{report.generated_tokens_per_s:g} tok/s, {report.threads} thread(s), weights in "
            f"{', '.join(report.weight_buffers) or 'CPU'} (in a child process)",
            True,
        )
    hint = ""
    if outcome.returncode is not None and outcome.returncode < 0:
        hint = (
            "; if llama.cpp uses an extra buffer type here, try ASSISTANT_EXTRA_BUFFERS=off "
            "(README: CPU paths)"
        )
    return f"[red]{escape(outcome.error)}{hint}[/]", False
