"""Schema evolution checks, done by the ``avro`` package's ``ReaderWriterCompatibilityChecker``.

Modes follow the Schema Registry's vocabulary. BACKWARD (the default): consumers on the *new*
schema can read data written with the previous one. FORWARD: consumers on the previous schema can
read data written with the new one. FULL: both. ``*_TRANSITIVE`` checks against every earlier
version instead of only the latest. NONE checks nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, get_args

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from agentstream.errors import ConfigError, SchemaCompatibilityError

__all__ = [
    "MODES",
    "CompatibilityMode",
    "check_compatibility",
    "compatibility_problems",
    "reader_writer_problems",
]

CompatibilityMode = Literal[
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
]
MODES: tuple[str, ...] = get_args(CompatibilityMode)


def _parse(schema: Any) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(schema))


def reader_writer_problems(reader: Any, writer: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty list: it can).

    Each line names the rule broken (e.g. ``reader_field_missing_default_value``), the location
    (JSON-pointer-like path into the reader schema) and the checker's message.
    """
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(_parse(reader), _parse(writer))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    rules = ", ".join(sorted({i.value for i in result.incompatibilities})) or "incompatible"
    where = ", ".join(sorted(result.locations))
    messages = "; ".join(sorted(result.messages))
    return [f"{rules} at {where}: {messages}"]


def compatibility_problems(
    new: Any, previous: Sequence[Any], *, mode: CompatibilityMode = "BACKWARD"
) -> list[str]:
    """Problems that make ``new`` an invalid next version after ``previous`` (oldest first)."""
    if mode not in MODES:
        raise ConfigError(f"unknown compatibility mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "NONE" or not previous:
        return []
    against = list(previous) if mode.endswith("_TRANSITIVE") else [previous[-1]]
    base = mode.removesuffix("_TRANSITIVE")
    problems: list[str] = []
    for i, old in enumerate(against):
        label = "previous version" if len(against) == 1 else f"version {i + 1}"
        if base in ("BACKWARD", "FULL"):
            problems += [
                f"BACKWARD vs {label} (new reads old): {p}"
                for p in reader_writer_problems(new, old)
            ]
        if base in ("FORWARD", "FULL"):
            problems += [
                f"FORWARD vs {label} (old reads new): {p}"
                for p in reader_writer_problems(old, new)
            ]
    return problems


def check_compatibility(
    name: str, new: Any, previous: Sequence[Any], *, mode: CompatibilityMode = "BACKWARD"
) -> None:
    """Raise ``SchemaCompatibilityError`` if ``new`` may not follow ``previous`` under ``mode``."""
    problems = compatibility_problems(new, previous, mode=mode)
    if problems:
        raise SchemaCompatibilityError(
            f"schema {name} is not {mode}-compatible with its registered version(s): "
            + " | ".join(problems)
            + "; add defaults to new fields, keep removed fields' defaults, or publish the "
            "change under a new record name",
            problems=problems,
        )
