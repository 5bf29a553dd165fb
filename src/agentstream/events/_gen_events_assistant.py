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
    "BriefingRequested",
]


@dataclass(frozen=True, kw_only=True)
class BriefingRequested(Record):
    "Someone (or the daily schedule) asked for a team briefing."

    FULLNAME: ClassVar[str] = "agentstream.events.assistant.BriefingRequested"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.assistant.BriefingRequested")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str
    "Team the briefing is for."
    audience: str
    "Who it is for (user id, email or channel)."
    period_start: datetime
    "Start of the period to cover, UTC."
    period_end: datetime
    "End of the period to cover, UTC."
    requested_by: str | None = None
    "Who asked ('schedule' for the daily schedule), if known."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "team": data["team"],
            "audience": data["audience"],
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "requested_by": data.get("requested_by", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


