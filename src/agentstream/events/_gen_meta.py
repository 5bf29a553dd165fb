"""Record classes generated from the Avro contract in ``schemas/*.avsc``. DO NOT EDIT.

Regenerate with ``agentstream schemas codegen`` after changing a schema; a unit test fails when
this file is out of date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from agentstream.schemas import Record, schema_of

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "EventMeta",
]


@dataclass(frozen=True, kw_only=True)
class EventMeta(Record):
    "Envelope carried as the first field ('meta') of every semantic event. It maps onto CloudEvents 1.0 attributes: id->id, type->type, source->source, subject->subject, time->time; correlation_id, causation_id and traceparent travel as the CloudEvents extensions 'correlationid', 'causationid' and 'traceparent' (W3C distributed-tracing extension); specversion is implied ('1.0') and datacontenttype is 'application/avro'."

    FULLNAME: ClassVar[str] = "agentstream.meta.EventMeta"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.meta.EventMeta")

    id: str
    "Unique id of this event (UUID). Consumers deduplicate on it. CloudEvents: id."
    type: str
    "Avro full name of the event record, e.g. 'agentstream.events.code.PullRequestOpened'. CloudEvents: type."
    source: str
    "Who produced the event: connector or agent name, e.g. 'connector.github' or 'agent.risk'. CloudEvents: source."
    subject: str
    "Key of the entity the event is about (also the Kafka message key), e.g. 'octo/repo#42'. CloudEvents: subject."
    time: datetime
    "When the fact happened or was observed, UTC, millisecond precision. CloudEvents: time."
    correlation_id: str
    "Id shared by every event of one causal chain; equals id for the chain's first event. CloudEvents extension: correlationid."
    causation_id: str | None = None
    "Id of the event that directly caused this one; null for an event caused by the outside world. CloudEvents extension: causationid."
    traceparent: str | None = None
    "W3C Trace Context traceparent of the producing span, if any. CloudEvents extension: traceparent."

    def to_avro(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "id": data["id"],
            "type": data["type"],
            "source": data["source"],
            "subject": data["subject"],
            "time": data["time"],
            "correlation_id": data["correlation_id"],
            "causation_id": data.get("causation_id", None),
            "traceparent": data.get("traceparent", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


