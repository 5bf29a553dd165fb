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
    "AgentDescriptor",
    "DeadLetter",
    "DeadLetterStage",
    "Header",
    "RawRecord",
    "Subscription",
]


class DeadLetterStage(StrEnum):
    "Where processing failed."

    DECODE = "decode"
    HANDLE = "handle"
    EMIT = "emit"


@dataclass(frozen=True, kw_only=True)
class Subscription(Record):
    "A topic and the event types read from or written to it."

    FULLNAME: ClassVar[str] = "agentstream.platform.Subscription"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.platform.Subscription")

    topic: str
    "Topic name."
    types: tuple[str, ...] = ()
    "Avro full names of the event types; empty means any."

    def to_avro(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "topic": data["topic"],
            "types": tuple(data.get("types", ())),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["types"] = tuple(data["types"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class AgentDescriptor(Record):
    "An agent instance's published interface, kept in the compacted _agentstream.agents topic (key = agent name + instance)."

    FULLNAME: ClassVar[str] = "agentstream.platform.AgentDescriptor"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.platform.AgentDescriptor")

    name: str
    "Agent name (also its consumer group)."
    version: str
    "Agent version."
    consumes: tuple[Subscription, ...] = ()
    "What it reads."
    emits: tuple[Subscription, ...] = ()
    "What it writes."
    instance: str
    "Id of this running instance."
    host: str
    "Host name it runs on."
    pid: int
    "Process id."
    started_at: datetime
    "When this instance started, UTC."
    description: str | None = None
    "What the agent does, for people reading the topology."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["consumes"] = [x0.to_avro() for x0 in self.consumes]
        data["emits"] = [x0.to_avro() for x0 in self.emits]
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "name": data["name"],
            "version": data["version"],
            "consumes": tuple(Subscription.from_avro(x0) for x0 in data.get("consumes", ())),
            "emits": tuple(Subscription.from_avro(x0) for x0 in data.get("emits", ())),
            "instance": data["instance"],
            "host": data["host"],
            "pid": data["pid"],
            "started_at": data["started_at"],
            "description": data.get("description", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["consumes"] = tuple(Subscription.adopt_avro(x0) for x0 in data["consumes"])
        data["emits"] = tuple(Subscription.adopt_avro(x0) for x0 in data["emits"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class Header(Record):
    "One Kafka record header (keys may repeat)."

    FULLNAME: ClassVar[str] = "agentstream.platform.Header"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.platform.Header")

    key: str
    "Header name."
    value: bytes | None = None
    "Header value bytes; null when absent."

    def to_avro(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "key": data["key"],
            "value": data.get("value", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class DeadLetter(Record):
    "A message an agent could not process after its retries, kept with the reason on dlq.<agent> so it can be inspected and replayed."

    FULLNAME: ClassVar[str] = "agentstream.platform.DeadLetter"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.platform.DeadLetter")

    original_topic: str
    "Topic the message was read from."
    original_partition: int
    "Partition it was read from."
    original_offset: int
    "Offset it had."
    original_key: bytes | None = None
    "Its key bytes, unmodified; null when it had none."
    original_value: bytes | None = None
    "Its value bytes, unmodified; null for a tombstone."
    original_headers: tuple[Header, ...] = ()
    "Its headers in order."
    event_id: str | None = None
    "meta.id of the original event when it could be decoded."
    event_type: str | None = None
    "Avro full name of the original event when it could be decoded."
    error_type: str
    "Class name of the last error, e.g. 'TimeoutError'."
    error_message: str
    "Message of the last error."
    stage: DeadLetterStage
    "Where it failed: decoding the input, in the handler, or emitting results."
    attempts: int
    "How many times handling was attempted."
    first_failure_at: datetime
    "When the first attempt failed, UTC."
    last_failure_at: datetime
    "When the last attempt failed, UTC."
    agent: str
    "Name of the agent that gave up."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["original_headers"] = [x0.to_avro() for x0 in self.original_headers]
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "original_topic": data["original_topic"],
            "original_partition": data["original_partition"],
            "original_offset": data["original_offset"],
            "original_key": data.get("original_key", None),
            "original_value": data.get("original_value", None),
            "original_headers": tuple(Header.from_avro(x0) for x0 in data.get("original_headers", ())),
            "event_id": data.get("event_id", None),
            "event_type": data.get("event_type", None),
            "error_type": data["error_type"],
            "error_message": data["error_message"],
            "stage": DeadLetterStage(data["stage"]),
            "attempts": data["attempts"],
            "first_failure_at": data["first_failure_at"],
            "last_failure_at": data["last_failure_at"],
            "agent": data["agent"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["original_headers"] = tuple(Header.adopt_avro(x0) for x0 in data["original_headers"])
        data["stage"] = DeadLetterStage(data["stage"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class RawRecord(Record):
    "A payload exactly as a connector received it (webhook body, export line, calendar file) before it is turned into semantic events; lives on ingest.<source> topics."

    FULLNAME: ClassVar[str] = "agentstream.platform.RawRecord"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.platform.RawRecord")

    source: str
    "Connector that received the payload, e.g. 'github', 'slack', 'ics'."
    kind: str
    "Source-specific payload kind, e.g. the GitHub event name 'pull_request' or the Slack event type."
    received_at: datetime
    "When the connector received the payload, UTC."
    headers: dict[str, str] = field(default_factory=dict)
    "Transport headers worth keeping (delivery id, signature, content type)."
    body: bytes
    "The payload bytes, unmodified."
    id: str = ""
    "Deterministic id of the record: uuid5 of the source and its delivery id (GitHub X-GitHub-Delivery, Slack event_id, export channel+ts, calendar file digest); a redelivery gets the same id. Empty for records written before the field existed."
    delivery_id: str | None = None
    "The source's own id of the delivery, if it has one."
    attempt: int = 1
    "Delivery attempt the source reported (Slack X-Slack-Retry-Num + 1); 1 when unknown."

    def to_avro(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "source": data["source"],
            "kind": data["kind"],
            "received_at": data["received_at"],
            "headers": data.get("headers", {}),
            "body": data["body"],
            "id": data.get("id", ""),
            "delivery_id": data.get("delivery_id", None),
            "attempt": data.get("attempt", 1),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


