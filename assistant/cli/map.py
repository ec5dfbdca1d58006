"""`assistant map`: print the repository map the model would see."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from assistant.repo.git import require_repo_root


def _relative(root: Path, cwd: Path, path: str) -> str:
    full = (cwd / path).resolve()
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def register(app: typer.Typer) -> None:
    @app.command("map")
    def map_command(
        tokens: int | None = typer.Option(
            None, "--tokens", "-t", min=0, help="Token budget (default: map_tokens, 1024)."
        ),
        focus: list[str] = typer.Option(  # noqa: B008
            [], "--focus", "-f", help="File in the chat (repeatable); ranking leans toward it."
        ),
        mention: list[str] = typer.Option(  # noqa: B008
            [], "--mention", help="Identifier, path or text the user mentioned."
        ),
        as_json: bool = typer.Option(False, "--json", help="Files, ranked definitions, tokens."),
        cache: Path | None = typer.Option(None, "--cache", hidden=True),  # noqa: B008
    ) -> None:
        """Show the ranked, token-budgeted map of this repository's definitions."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        from assistant.config import load_settings
        from assistant.repo.repomap import RepoMap

        cwd = Path.cwd()
        root = require_repo_root(cwd)  # outside git: exit 2, not a walk of the whole disk
        if tokens is None:
            tokens = load_settings(root).map_tokens
        focus_rel = [_relative(root, cwd, p) for p in focus]
        err = Console(stderr=True)
        show_progress = err.is_terminal and not as_json
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=err,
            transient=True,
            disable=not show_progress,
        ) as bar:
            task = bar.add_task("scanning", total=None)

            def progress(phase: str, done: int, total: int) -> None:
                bar.update(task, description=phase, completed=done, total=total)

            repomap = RepoMap(root, cache_path=cache, progress=progress)
            try:
                result = repomap.build(tokens, focus_rel, mention, include_focus=True)
            finally:
                repomap.close()
        if as_json:
            payload = result.to_json()
            payload["root"] = str(root)
            sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(result.text)
