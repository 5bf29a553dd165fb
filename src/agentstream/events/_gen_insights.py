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
from agentstream.events._gen_meta import EventMeta

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "ActivitySummary",
    "AssistantAnswered",
    "BriefingReady",
    "RiskDetected",
    "RiskSeverity",
]


class RiskSeverity(StrEnum):
    "How urgent a risk is."

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, kw_only=True)
class ActivitySummary(Record):
    "Counts and a short summary of the activity around one entity over a period."

    FULLNAME: ClassVar[str] = "agentstream.insights.ActivitySummary"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.insights.ActivitySummary")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    based_on: tuple[str, ...]
    "meta.id of every event this insight rests on (its evidence)."
    entity: str
    "What the summary is about (repository, channel, person)."
    period_start: datetime
    "Start of the period, UTC."
    period_end: datetime
    "End of the period, UTC."
    counts: dict[str, int] = field(default_factory=dict)
    "Event counts by event type simple name, e.g. {'PullRequestOpened': 3}."
    summary: str
    "Short text summary."
    team: str | None = None
    "Team the insight is about or for, when known."
    person: str | None = None
    "Person the insight is about (login or email), when it is about one person."
    entities: tuple[str, ...] = ()
    "Entities the insight concerns, as 'kind:id' (e.g. 'pr:octo/api#42', 'repo:octo/api', 'person:alice')."

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
            "entity": data["entity"],
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "counts": data.get("counts", {}),
            "summary": data["summary"],
            "team": data.get("team", None),
            "person": data.get("person", None),
            "entities": tuple(data.get("entities", ())),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        data["entities"] = tuple(data["entities"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class AssistantAnswered(Record):
    "The assistant answered a question asked in chat (a mention or a direct message) and posted the answer in the question's thread."

    FULLNAME: ClassVar[str] = "agentstream.insights.AssistantAnswered"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.insights.AssistantAnswered")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    based_on: tuple[str, ...]
    "meta.id of every event this insight rests on (its evidence)."
    question_id: str
    "meta.id of the MessagePosted that asked the question."
    channel: str
    "Channel (or direct-message conversation) id the answer was posted in."
    thread_ts: str
    "ts of the thread the answer was posted in (the question's ts or its thread)."
    asked_by: str
    "Id of the user who asked."
    question: str
    "The question as asked, without the mention."
    answer: str
    "The answer as posted (Slack mrkdwn), with its sources."
    posted_ts: str | None = None
    "ts Slack gave the posted reply, when the post succeeded."
    model: str | None = None
    "Model that wrote the answer ('offline' for the deterministic offline model)."

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
            "question_id": data["question_id"],
            "channel": data["channel"],
            "thread_ts": data["thread_ts"],
            "asked_by": data["asked_by"],
            "question": data["question"],
            "answer": data["answer"],
            "posted_ts": data.get("posted_ts", None),
            "model": data.get("model", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class BriefingReady(Record):
    "A briefing (e.g. a manager's morning summary) was written and is ready to deliver."

    FULLNAME: ClassVar[str] = "agentstream.insights.BriefingReady"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.insights.BriefingReady")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    based_on: tuple[str, ...]
    "meta.id of every event this insight rests on (its evidence)."
    audience: str
    "Who it is for (user id or email)."
    period_start: datetime
    "Start of the period covered, UTC."
    period_end: datetime
    "End of the period covered, UTC."
    title: str
    "Headline."
    body: str
    "The briefing text (Markdown)."
    highlights: tuple[str, ...] = ()
    "Key points, one line each."
    team: str | None = None
    "Team the briefing is about, when it is a team briefing."
    attention: tuple[str, ...] = ()
    "What needs attention, one line each (also in body)."
    went_well: tuple[str, ...] = ()
    "What went well, one line each (also in body)."
    model: str | None = None
    "Model that wrote the briefing ('offline' for the deterministic offline model)."

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
            "audience": data["audience"],
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "title": data["title"],
            "body": data["body"],
            "highlights": tuple(data.get("highlights", ())),
            "team": data.get("team", None),
            "attention": tuple(data.get("attention", ())),
            "went_well": tuple(data.get("went_well", ())),
            "model": data.get("model", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        data["highlights"] = tuple(data["highlights"])
        data["attention"] = tuple(data["attention"])
        data["went_well"] = tuple(data["went_well"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class RiskDetected(Record):
    "An agent concluded that something is at risk (a stale review, a failing build streak, an overloaded person)."

    FULLNAME: ClassVar[str] = "agentstream.insights.RiskDetected"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.insights.RiskDetected")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    based_on: tuple[str, ...]
    "meta.id of every event this insight rests on (its evidence)."
    kind: str
    "Machine-readable risk kind, e.g. 'stale-review', 'build-failing', 'overload'."
    severity: RiskSeverity
    "How urgent it is."
    title: str
    "One-line statement of the risk."
    summary: str
    "Explanation for a human, citing the evidence."
    recommendation: str | None = None
    "Suggested action, if any."
    confidence: float | None = None
    "Confidence between 0 and 1 when the producer can estimate it."
    team: str | None = None
    "Team the insight is about or for, when known."
    person: str | None = None
    "Person the insight is about (login or email), when it is about one person."
    entities: tuple[str, ...] = ()
    "Entities the insight concerns, as 'kind:id' (e.g. 'pr:octo/api#42', 'repo:octo/api', 'person:alice')."

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
            "kind": data["kind"],
            "severity": RiskSeverity(data["severity"]),
            "title": data["title"],
            "summary": data["summary"],
            "recommendation": data.get("recommendation", None),
            "confidence": data.get("confidence", None),
            "team": data.get("team", None),
            "person": data.get("person", None),
            "entities": tuple(data.get("entities", ())),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        data["severity"] = RiskSeverity(data["severity"])
        data["entities"] = tuple(data["entities"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


