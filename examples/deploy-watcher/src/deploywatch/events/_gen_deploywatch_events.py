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
    "DeployFinished",
    "DeployOutcome",
    "DeployStarted",
]


class DeployOutcome(StrEnum):
    "How a deployment ended."

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True, kw_only=True)
class DeployFinished(Record):
    "A deployment ended. meta.subject is '<service>@<environment>', as for DeployStarted."

    FULLNAME: ClassVar[str] = "deploywatch.events.DeployFinished"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("deploywatch.events.DeployFinished")

    meta: EventMeta
    "Envelope: id, type, source, subject, time, correlation."
    service: str
    "Service that was deployed."
    environment: str
    "Environment it was deployed to."
    version: str
    "Version that was rolled out."
    outcome: DeployOutcome
    "How it ended."
    log_url: str | None = None
    "Where the deployment's log is, if known."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "service": data["service"],
            "environment": data["environment"],
            "version": data["version"],
            "outcome": DeployOutcome(data["outcome"]),
            "log_url": data.get("log_url", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["outcome"] = DeployOutcome(data["outcome"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class DeployStarted(Record):
    "A deployment of one version of a service to one environment began. meta.subject is '<service>@<environment>'."

    FULLNAME: ClassVar[str] = "deploywatch.events.DeployStarted"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("deploywatch.events.DeployStarted")

    meta: EventMeta
    "Envelope: id, type, source, subject, time, correlation."
    service: str
    "Service being deployed, e.g. 'billing-api'."
    environment: str
    "Target environment, e.g. 'production'."
    version: str
    "Version (tag or commit) being rolled out."
    started_by: str
    "Person or pipeline that started it."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "service": data["service"],
            "environment": data["environment"],
            "version": data["version"],
            "started_by": data["started_by"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


