"""Tool declarations from Python signatures: the function is the single source of
truth for the name, the JSON schema (types, required keys, defaults) and the
description the model reads, so the prompt, the grammar and the code cannot drift.

The first parameter of a tool function is its `ToolContext` and is not declared.
`Annotated[str, ExistingPath]` marks a path that must name an existing repository
file (the grammar may restrict it to those paths)."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from assistant.toolspec import EXISTING_PATH_KEY, ToolSpec


class ExistingPath:
    """Marker for `Annotated[str, ExistingPath]`."""


@dataclass(frozen=True)
class ParamInfo:
    name: str
    kind: type  # str, int, float, bool or list
    item_kind: type | None  # element type for lists
    required: bool
    default: Any


def _unwrap(annotation: Any) -> tuple[Any, bool, bool]:
    """(base type, optional?, existing-path?) of an annotation."""
    existing = False
    if typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation = args[0]
        existing = ExistingPath in args[1:]
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        if len(members) != 1:
            raise TypeError(f"unsupported union annotation {annotation!r}")
        annotation = members[0]
    return annotation, optional, existing


_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _schema_for(annotation: Any) -> tuple[dict[str, Any], type, type | None]:
    if typing.get_origin(annotation) is typing.Literal:
        # A closed set of strings: the grammar offers only these.
        values = typing.get_args(annotation)
        if not values or not all(isinstance(v, str) for v in values):
            raise TypeError(f"unsupported literal {annotation!r}: strings only")
        return {"type": "string", "enum": list(values)}, str, None
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}, annotation, None
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if item not in _JSON_TYPES:
            raise TypeError(f"unsupported list item type {item!r}")
        return {"type": "array", "items": {"type": _JSON_TYPES[item]}}, list, item
    raise TypeError(f"unsupported parameter type {annotation!r}")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {param: description}) from a Google-style docstring."""
    text = inspect.cleandoc(doc or "")
    head, _, args_block = _split_args(text)
    description = " ".join(" ".join(p.split()) for p in head.strip().split("\n\n") if p.strip())
    params: dict[str, str] = {}
    current: str | None = None
    for line in args_block.splitlines():
        match = re.match(r"^\s{0,8}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
        if match and (current is None or len(line) - len(line.lstrip()) <= 4):
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current is not None and line.strip():
            params[current] = (params[current] + " " + line.strip()).strip()
    return description, params


def _split_args(text: str) -> tuple[str, str, str]:
    parts = re.split(r"^Args:\s*$", text, maxsplit=1, flags=re.M)
    if len(parts) == 1:
        return text, "", ""
    return parts[0], "Args:", parts[1]


def describe_params(func: Callable[..., Any]) -> list[ParamInfo]:
    hints = typing.get_type_hints(func, include_extras=True)
    params = list(inspect.signature(func).parameters.values())[1:]  # skip the context
    out: list[ParamInfo] = []
    for param in params:
        base, optional, _ = _unwrap(hints[param.name])
        _, kind, item = _schema_for(base)
        required = param.default is inspect.Parameter.empty
        default = None if required else param.default
        if required and optional:
            raise TypeError(f"{param.name}: optional parameters need a default")
        out.append(ParamInfo(param.name, kind, item, required, default))
    return out


def spec_from_function(
    func: Callable[..., Any], *, name: str | None = None, mutates: bool = False
) -> ToolSpec:
    """Build the `ToolSpec` of a tool function from its signature and docstring."""
    hints = typing.get_type_hints(func, include_extras=True)
    description, param_docs = parse_docstring(func.__doc__ or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in list(inspect.signature(func).parameters.values())[1:]:
        base, _, existing = _unwrap(hints[param.name])
        schema, _, _ = _schema_for(base)
        if param.name in param_docs:
            schema["description"] = param_docs[param.name]
        if existing:
            schema[EXISTING_PATH_KEY] = True
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        elif param.default is not None:
            schema["default"] = param.default
        properties[param.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    return ToolSpec(
        name=name or func.__name__,
        description=description,
        parameters=parameters,
        mutates=mutates,
    )
