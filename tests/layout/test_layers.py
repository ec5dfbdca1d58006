"""The package's layers, enforced: every import points down.

    cli ─► agent, review, eval, ui ─► protocols, tools, repo ─► llm ─► kernel

The kernel is the handful of modules at the top of `assistant/` (errors,
config, events, toolspec, netguard, fsutil). Imports inside functions count too: a
lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Where each installed package's source lives (tools/ and prompts/ are mapped).
SOURCES = {
    "assistant": ROOT / "assistant",
    "assistant.tools": ROOT / "tools",
    "assistant.prompts": ROOT / "prompts",
}

# package -> packages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "assistant.llm": {
        "assistant.protocols",
        "assistant.agent",
        "assistant.tools",
        "assistant.repo",
        "assistant.review",
        "assistant.ui",
        "assistant.cli",
        "assistant.eval",
    },
    "assistant.protocols": {
        "assistant.agent",
        "assistant.tools",
        "assistant.repo",
        "assistant.review",
        "assistant.ui",
        "assistant.cli",
        "assistant.eval",
    },
    "assistant.repo": {
        "assistant.llm",
        "assistant.protocols",
        "assistant.agent",
        "assistant.tools",
        "assistant.review",
        "assistant.ui",
        "assistant.cli",
        "assistant.eval",
    },
    # refactor: `assistant rename`, beside the tools (it writes through their sandbox
    # and journal); no model, so nothing above it.
    "assistant.refactor": {
        "assistant.llm",
        "assistant.protocols",
        "assistant.agent",
        "assistant.review",
        "assistant.ui",
        "assistant.cli",
        "assistant.eval",
    },
    "assistant.tools": {
        "assistant.llm",
        "assistant.protocols",
        "assistant.agent",
        "assistant.review",
        "assistant.ui",
        "assistant.cli",
        "assistant.eval",
    },
    "assistant.prompts": {
        "assistant.llm",
        "assistant.protocols",
        "assistant.agent",
        "assistant.tools",
        "assistant.repo",
        "assistant.review",
        "assistant.ui",
        "assistant.cli",
        "assistant.eval",
    },
    "assistant.agent": {"assistant.review", "assistant.ui", "assistant.cli", "assistant.eval"},
    "assistant.review": {"assistant.ui", "assistant.cli", "assistant.eval"},
    # eval: a layer beside review; it renders nothing (cli does), and only cli imports it.
    "assistant.eval": {"assistant.ui", "assistant.cli", "assistant.review"},
    "assistant.ui": {"assistant.agent", "assistant.review", "assistant.cli", "assistant.eval"},
}
KERNEL = {"errors", "config", "events", "toolspec", "netguard", "fsutil"}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join([package, *parts]), path))
    return found


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "assistant" or name.startswith("assistant.")}


def _package_of(module: str) -> str:
    for package in sorted(FORBIDDEN, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return module


MODULES = _modules()


def test_every_module_is_found() -> None:
    packages = {_package_of(name) for name, _ in MODULES}
    assert set(FORBIDDEN) <= packages


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_imports_point_down(module: str, path: Path) -> None:
    own = _package_of(module)
    upward = sorted(
        name
        for name in _imports(module, path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN.get(own, ()))
    )
    assert not upward, f"{module} imports a higher layer: {upward}"


@pytest.mark.parametrize("name", sorted(KERNEL))
def test_kernel_modules_import_only_the_kernel_and_the_engine_interface(name: str) -> None:
    for imported in _imports(f"assistant.{name}", ROOT / "assistant" / f"{name}.py"):
        parts = imported.split(".")
        ok = (
            imported == "assistant"
            or parts[1] in KERNEL
            or imported.startswith("assistant.llm.engine")
            or imported == "assistant.llm"
        )
        assert ok, f"assistant.{name} imports {imported}"
