"""Record classes generated from the Avro contract in ``schemas/*.avsc``. DO NOT EDIT.

Regenerate with
``agentstream schemas codegen --dir <schemas> --out <this package>``
after changing a schema; the same command with ``--check`` fails when this file is
out of date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from agentstream.events import EventMeta
from agentstream.schemas import Record

from deploywatch.events._contract import schema_of

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "DeployFlagged",
    "FlagKind",
]


class FlagKind(StrEnum):
    "What the watcher noticed."

    REPEATED_FAILURE = "repeated_failure"
    DEPLOY_WHILE_FAILING = "deploy_while_failing"


@dataclass(frozen=True, kw_only=True)
class DeployFlagged(Record):
    "The deploy watcher's finding about a service in one environment; based_on lists the evidence."

    FULLNAME: ClassVar[str] = "deploywatch.insights.DeployFlagged"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("deploywatch.insights.DeployFlagged")

    meta: EventMeta
    "Envelope; causation_id is the event that triggered the flag."
    based_on: tuple[str, ...]
    "Ids of the failed deployments (DeployFinished) behind this flag, oldest first."
    kind: FlagKind
    "What was noticed."
    service: str
    "Service concerned."
    environment: str
    "Environment concerned."
    consecutive_failures: int
    "Failed deployments in a row, up to this flag."
    summary: str
    "One line for a human."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "based_on": tuple(data["based_on"]),
            "kind": FlagKind(data["kind"]),
            "service": data["service"],
            "environment": data["environment"],
            "consecutive_failures": data["consecutive_failures"],
            "summary": data["summary"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        data["kind"] = FlagKind(data["kind"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


