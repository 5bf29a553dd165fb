"""JSON views of records, for the CLI: timestamps as ISO-8601 strings, bytes as base64.

``to_json`` is what ``agentstream tail`` prints; ``from_json`` reads what ``agentstream produce``
accepts (timestamps as ISO-8601 strings or epoch milliseconds). Both walk the record's schema.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFieldError", "from_json", "to_json"]


class JsonFieldError(ValueError):
    """A JSON value does not fit its field; ``path`` names the field (``meta.time``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _named(schema: Any, named: dict[str, Any]) -> Any:
    if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
        named[schema["name"]] = schema
    if isinstance(schema, str) and schema in named:
        return named[schema]
    return schema


def _walk(  # noqa: PLR0911 - one return per Avro type kind reads best
    value: Any, schema: Any, named: dict[str, Any], path: str, out: bool
) -> Any:
    schema = _named(schema, named)
    if value is None:
        return None
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return _walk(value, branches[0], named, path, out) if len(branches) == 1 else value
    if isinstance(schema, str):
        return _bytes(value, path, out) if schema == "bytes" else value
    kind = schema["type"]
    if kind == "record":
        return _record(value, schema, named, path, out)
    if kind == "array" and isinstance(value, list | tuple):
        return [_walk(v, schema["items"], named, f"{path}[{i}]", out) for i, v in enumerate(value)]
    if kind == "map" and isinstance(value, dict):
        return {k: _walk(v, schema["values"], named, f"{path}.{k}", out) for k, v in value.items()}
    if schema.get("logicalType") in ("timestamp-millis", "timestamp-micros"):
        return _ts_out(value) if out else _ts_in(value, path)
    if kind in ("enum", "fixed", "array", "map"):
        return value
    return _walk(value, kind, named, path, out)


def _record(value: Any, schema: dict[str, Any], named: dict[str, Any], path: str, out: bool) -> Any:
    if not isinstance(value, dict):
        return value
    result = dict(value)
    for f in schema["fields"]:
        if f["name"] in value:
            sub = f"{path}.{f['name']}" if path else f["name"]
            result[f["name"]] = _walk(value[f["name"]], f["type"], named, sub, out)
    return result


def _bytes(value: Any, path: str, out: bool) -> Any:
    if out:
        return base64.b64encode(value).decode("ascii")
    if not isinstance(value, str):
        raise JsonFieldError(path, "expected a base64 string for bytes")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise JsonFieldError(path, f"invalid base64: {exc}") from exc


def _ts_out(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def _ts_in(value: Any, path: str) -> Any:
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise JsonFieldError(path, f"not an ISO-8601 timestamp: {value!r}") from exc
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return value


def to_json(avro_value: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON-serialisable copy of ``avro_value`` (a ``to_avro()`` dict) for ``schema``."""
    result = _walk(avro_value, schema, {}, "", True)
    assert isinstance(result, dict)
    return result


def from_json(json_value: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The fastavro-ready dict for a JSON object of ``schema``; raises ``JsonFieldError``."""
    result = _walk(json_value, schema, {}, "", False)
    assert isinstance(result, dict)
    return result
