"""Checking parsed call arguments against a tool's JSON schema.

Only the subset tools declare: type (or a list of types), properties, required,
additionalProperties: false, items, minItems/maxItems, enum, anyOf/oneOf,
minimum/maximum, minLength/maxLength (the same subset `GrammarBuilder` turns
into grammar rules, so what a grammar admits, this accepts). The
messages are written for the model, which gets them back as a tool error."""

from __future__ import annotations

from typing import Any

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: Any, json_type: str) -> bool:
    if json_type not in _JSON_TYPES:
        return True  # an unknown type name constrains nothing
    # bool is an int subclass in Python, never in JSON.
    if isinstance(value, bool) and json_type in ("integer", "number"):
        return False
    if json_type == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[json_type])


def coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Integral floats where an integer is declared become ints (`3.0` -> 3)."""
    if not isinstance(schema, dict):
        return value
    types = schema.get("type")
    if (
        isinstance(value, float)
        and value.is_integer()
        and (types == "integer" or (isinstance(types, list) and "integer" in types))
    ):
        return int(value)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {k: coerce(v, props.get(k, {})) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce(v, schema["items"]) for v in value]
    return value


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Problems with `value` under `schema`; empty when it conforms."""
    if not isinstance(schema, dict) or not schema:
        return []
    where = path or "arguments"
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            if not any(not validate(value, option, path) for option in options):
                return [f"{where}: {value!r} matches none of the allowed forms"]
            return []
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    if isinstance(types, list) and types and not any(_is_type(value, t) for t in types):
        want = " or ".join(str(t) for t in types)
        return [f"{where}: expected {want}, got {type_name(value)} {value!r}"]
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return [f"{where}: {value!r} is not one of {enum!r}"]
    problems: list[str] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int | float) and value < low:
            problems.append(f"{where}: {value!r} is less than the minimum {low}")
        if isinstance(high, int | float) and value > high:
            problems.append(f"{where}: {value!r} is more than the maximum {high}")
    elif isinstance(value, str):
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and len(value) < low:
            problems.append(f"{where}: needs at least {low} characters")
        if isinstance(high, int) and len(value) > high:
            problems.append(f"{where}: allows at most {high} characters ({len(value)} given)")
    elif isinstance(value, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        assert isinstance(props, dict)
        for key in schema.get("required") or []:
            if key not in value:
                problems.append(f"{where}: missing required key {key!r}")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if key in props:
                problems.extend(validate(item, props[key], sub))
            elif schema.get("additionalProperties") is False:
                allowed = ", ".join(sorted(props)) or "none"
                problems.append(f"{where}: unknown key {key!r} (allowed: {allowed})")
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                problems.extend(validate(item, items, f"{where}[{i}]"))
        low, high = schema.get("minItems"), schema.get("maxItems")
        if isinstance(low, int) and len(value) < low:
            problems.append(f"{where}: needs at least {low} items")
        if isinstance(high, int) and len(value) > high:
            problems.append(f"{where}: allows at most {high} items")
    return problems
