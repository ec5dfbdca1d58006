"""`assistant config`: the merged settings and where each came from; trust a
repository's own `.assistant.toml`; propose its lint and test commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assistant.config import load_settings, user_config_file
from assistant.errors import AssistantError
from assistant.repo.git import repo_root_or_cwd

console = Console()
err_console = Console(stderr=True)
config_app = typer.Typer(
    help="Show the merged configuration; trust a repository's own settings.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The merged configuration, and where each value came from."""
    from rich.table import Table

    from assistant.agent.runtime import effective_settings

    settings = load_settings(repo_root_or_cwd())
    for note in settings.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    effective = effective_settings(settings)
    values: dict[str, dict[str, object]] = {}
    for name, source in settings.sources.items():
        entry = {"value": shown_value(name, getattr(settings, name)), "source": source}
        if name in effective:
            entry["effective"] = effective[name]
        values[name] = entry
    if as_json:
        print(json.dumps(values))
        return
    from assistant.config import REPO_FILE

    root = repo_root_or_cwd()
    for label, path in (("user config", user_config_file()), ("repo config", root / REPO_FILE)):
        state = "" if path.is_file() else "  (not present)"
        console.print(f"{label}: {path}{state}", markup=False, highlight=False, soft_wrap=True)
    # "effective": what a run uses where it differs from the setting (a default
    # applied, the context capped by the model).
    table = Table("setting", "value", "effective", "from")
    for name, entry in values.items():
        value = toml_value(entry["value"])
        used = toml_value(entry["effective"]) if "effective" in entry else ""
        table.add_row(name, value, used if used != value else "", str(entry["source"]))
    console.print(table)


def shown_value(name: str, value: object) -> object:
    """A setting as it may be shown: an endpoint without the password (or
    user) a URL can carry, as every other message prints it."""
    if name == "endpoint" and isinstance(value, str) and value:
        from assistant.llm.remote import describe_endpoint

        try:
            return describe_endpoint(value)
        except ValueError:  # a malformed port: show nothing rather than the secret
            return "(invalid URL)"
    return value


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
