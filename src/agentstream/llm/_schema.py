"""JSON Schema for the part of an Avro record a model fills, and validation with exact paths.

The model answers JSON; a timestamp is an ISO-8601 string, an enum one of its symbols, an
optional field may be null or left out. ``validate`` returns one line per problem (``path:
message``), the text quoted back to the model in the single repair request.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime
from typing import Any

__all__ = ["json_schema", "validate"]

_PRIMITIVE = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "bytes": {"type": "string", "description": "base64"},
    "null": {"type": "null"},
}


def json_schema(avro: dict[str, Any], *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The JSON Schema of ``avro`` (a record schema) without the top-level fields ``exclude``."""
    named: dict[str, Any] = {}
    out = _convert(avro, named)
    if exclude:
        out["properties"] = {k: v for k, v in out["properties"].items() if k not in exclude}
        out["required"] = [k for k in out["required"] if k not in exclude]
    return out


def _convert(  # noqa: PLR0911, PLR0912, C901 - one branch per Avro type kind
    schema: Any, named: dict[str, Any]
) -> dict[str, Any]:
    if isinstance(schema, str):
        if schema in _PRIMITIVE:
            return dict(_PRIMITIVE[schema])
        return _convert(named[schema], named)
    if isinstance(schema, list):
        return {"anyOf": [_convert(b, named) for b in schema]}
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        named[schema["name"]] = schema
        if "namespace" in schema:
            named[f"{schema['namespace']}.{schema['name']}"] = schema
    if kind == "record":
        props = {}
        required = []
        for f in schema["fields"]:
            sub = _convert(f["type"], named)
            if f.get("doc"):
                sub["description"] = f["doc"]
            props[f["name"]] = sub
            if "default" not in f and not _nullable(f["type"]):
                required.append(f["name"])
        return {"type": "object", "properties": props, "required": required,
                "additionalProperties": False}
    if kind == "enum":
        return {"type": "string", "enum": list(schema["symbols"])}
    if kind == "array":
        return {"type": "array", "items": _convert(schema["items"], named)}
    if kind == "map":
        return {"type": "object", "additionalProperties": _convert(schema["values"], named)}
    if kind == "fixed":
        return {"type": "string"}
    if schema.get("logicalType", "").startswith("timestamp"):
        return {"type": "string", "format": "date-time"}
    return _convert(kind, named)


def _nullable(schema: Any) -> bool:
    return isinstance(schema, list) and "null" in schema


def validate(value: Any, avro: dict[str, Any], *, exclude: Collection[str] = ()) -> list[str]:
    """Problems of ``value`` (parsed JSON) against ``avro``; empty when it fits."""
    problems: list[str] = []
    if not isinstance(value, dict):
        return [f"$: expected a JSON object, got {_kind(value)}"]
    named: dict[str, Any] = {}
    _check_record(value, avro, named, "", problems, exclude=exclude)
    return problems


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _check_record(
    value: dict[str, Any], schema: dict[str, Any], named: dict[str, Any], path: str,
    problems: list[str], *, exclude: Collection[str] = (),
) -> None:
    named[schema["name"]] = schema
    if "namespace" in schema:
        named[f"{schema['namespace']}.{schema['name']}"] = schema
    fields = {f["name"]: f for f in schema["fields"] if f["name"] not in exclude}
    for extra in sorted(set(value) - set(fields)):
        if extra not in exclude:
            problems.append(f"{_join(path, extra)}: unknown field (allowed: {', '.join(fields)})")
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in value:
            if "default" not in f and not _nullable(f["type"]):
                problems.append(f"{sub}: required field is missing")
            continue
        _check(value[name], f["type"], named, sub, problems)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check(  # noqa: PLR0912, C901 - one branch per Avro type kind
    value: Any, schema: Any, named: dict[str, Any], path: str, problems: list[str]
) -> None:
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):
        for branch in schema:
            trial: list[str] = []
            _check(value, branch, named, path, trial)
            if not trial:
                return
        kinds = ", ".join(_describe(b) for b in schema)
        problems.append(f"{path}: {_kind(value)} fits none of: {kinds}")
        return
    if isinstance(schema, str):
        ok = {
            "null": value is None,
            "string": isinstance(value, str),
            "bytes": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "long": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "double": isinstance(value, int | float) and not isinstance(value, bool),
        }.get(schema)
        if ok is None:
            problems.append(f"{path}: unknown type {schema}")
        elif not ok:
            problems.append(f"{path}: expected {schema}, got {_kind(value)}")
        elif schema in ("float", "double") and not math.isfinite(float(value)):
            problems.append(f"{path}: expected a finite number")
        return
    kind = schema["type"]
    if kind == "record":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {_kind(value)}")
            return
        _check_record(value, schema, named, path, problems)
    elif kind == "enum":
        named[schema["name"]] = schema
        if value not in schema["symbols"]:
            problems.append(f"{path}: {value!r} is not one of {', '.join(schema['symbols'])}")
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{path}: expected an array, got {_kind(value)}")
            return
        for i, v in enumerate(value):
            _check(v, schema["items"], named, f"{path}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {_kind(value)}")
            return
        for k, v in value.items():
            _check(v, schema["values"], named, f"{path}.{k}", problems)
    elif schema.get("logicalType", "").startswith("timestamp"):
        if not isinstance(value, str) or not _is_iso(value):
            problems.append(f"{path}: expected an ISO-8601 date-time string, got {value!r}")
    else:
        _check(value, kind, named, path, problems)


def _describe(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("logicalType") or schema.get("name") or schema["type"])
    return str(schema)


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
