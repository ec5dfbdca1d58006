"""README.md documents the CLI flag for flag (issue 15): every option of every
command appears in it, and every `assistant CMD … --flag` it shows is a real
option of that command. Both sides are read from the real click command tree,
so a renamed, removed or undocumented flag fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import typer

from assistant.cli.app import app
from assistant.cli.lazy import LazyRootGroup

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
FLAG = r"(?<![\w-])({})(?![\w-])"


def command_tree() -> dict[tuple[str, ...], click.Command]:
    root = typer.main.get_command(app)
    assert isinstance(root, LazyRootGroup)
    root.load_all()

    def walk(
        command: click.Command, path: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))

    return dict(walk(root, ()))


def option_names(command: click.Command) -> set[str]:
    return {
        name
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def test_every_option_of_every_command_is_in_the_readme() -> None:
    undocumented = []
    for path, command in command_tree().items():
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            names = [*param.opts, *param.secondary_opts]
            if "--help" in names:
                continue
            if not any(re.search(FLAG.format(re.escape(n)), README) for n in names):
                undocumented.append(f"assistant {' '.join(path)} {'/'.join(names)}")
    assert undocumented == [], "undocumented in README.md:\n" + "\n".join(undocumented)


def test_every_flag_the_readme_shows_on_a_command_exists() -> None:
    tree = command_tree()
    root_flags = option_names(tree[()]) | {"--help"}
    snippets = re.findall(r"`([^`\n]+)`", README) + [
        line.strip() for line in README.splitlines() if line.startswith("    ")
    ]
    snippets += re.findall(r"```[^\n]*\n(.*?)```", README, flags=re.S)
    wrong, seen = [], 0
    for snippet in snippets:
        for line in snippet.splitlines():
            for match in re.finditer(r"\bassistant((?:\s+[a-z][\w-]*)+)([^|;&#]*)", line):
                path: tuple[str, ...] = ()
                for word in match.group(1).split():
                    if (*path, word) not in tree:
                        break
                    path = (*path, word)
                if not path:
                    continue
                known = option_names(tree[path]) | root_flags
                words = re.sub(r"'[^']*'|\"[^\"]*\"", "", match.group(0))  # arguments' own text
                for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", words):
                    seen += 1
                    if flag not in known:
                        wrong.append(
                            f"{line.strip()!r}: {flag} is not an option of {' '.join(path)}"
                        )
    assert seen > 30, "the README's command examples were not found"
    assert wrong == [], "\n".join(wrong)
