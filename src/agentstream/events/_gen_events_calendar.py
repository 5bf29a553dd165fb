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
    "Attendee",
    "AttendeeResponse",
    "MeetingCancelled",
    "MeetingScheduled",
    "MeetingUpdated",
]


class AttendeeResponse(StrEnum):
    "An attendee's answer (iCalendar PARTSTAT, lower case, '-' as '_')."

    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"
    DELEGATED = "delegated"


@dataclass(frozen=True, kw_only=True)
class Attendee(Record):
    "A person invited to a meeting and their answer."

    FULLNAME: ClassVar[str] = "agentstream.events.calendar.Attendee"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.calendar.Attendee")

    email: str
    "Calendar address (mailto: stripped)."
    name: str | None = None
    "Display name (iCalendar CN), if given."
    response: AttendeeResponse = AttendeeResponse.NEEDS_ACTION
    "The attendee's answer."
    optional: bool = False
    "True when attendance is optional (ROLE=OPT-PARTICIPANT)."
    person: str | None = None
    "Person id that the identity map resolves the e-mail to; null when unknown."

    def to_avro(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "email": data["email"],
            "name": data.get("name", None),
            "response": AttendeeResponse(data.get("response", AttendeeResponse.NEEDS_ACTION)),
            "optional": data.get("optional", False),
            "person": data.get("person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["response"] = AttendeeResponse(data["response"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MeetingCancelled(Record):
    "A meeting was cancelled."

    FULLNAME: ClassVar[str] = "agentstream.events.calendar.MeetingCancelled"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.calendar.MeetingCancelled")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    uid: str
    "iCalendar UID of the cancelled meeting."
    title: str | None = None
    "Summary line, if known."
    start: datetime | None = None
    "Start of the cancelled meeting (or occurrence), UTC, if known."
    sequence: int = 0
    "iCalendar SEQUENCE of the cancellation."
    reason: str | None = None
    "Why it was cancelled, if given."
    occurrence: datetime | None = None
    "For one cancelled occurrence of a recurring meeting: its original start (RECURRENCE-ID), UTC."
    organizer: str | None = None
    "Organizer's calendar address, if any."
    organizer_person: str | None = None
    "Person id that the identity map resolves 'organizer' to; null when unknown."
    attendees: tuple[Attendee, ...] = ()
    "People who were invited."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        data["attendees"] = [x0.to_avro() for x0 in self.attendees]
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "uid": data["uid"],
            "title": data.get("title", None),
            "start": data.get("start", None),
            "sequence": data.get("sequence", 0),
            "reason": data.get("reason", None),
            "occurrence": data.get("occurrence", None),
            "organizer": data.get("organizer", None),
            "organizer_person": data.get("organizer_person", None),
            "attendees": tuple(Attendee.from_avro(x0) for x0 in data.get("attendees", ())),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["attendees"] = tuple(Attendee.adopt_avro(x0) for x0 in data["attendees"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MeetingScheduled(Record):
    "A meeting was put on a calendar."

    FULLNAME: ClassVar[str] = "agentstream.events.calendar.MeetingScheduled"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.calendar.MeetingScheduled")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    uid: str
    "iCalendar UID of the meeting (stable across updates)."
    calendar: str | None = None
    "Calendar the meeting belongs to, if known."
    title: str
    "Summary line."
    description: str | None = None
    "Description text, if any."
    location: str | None = None
    "Location or conference link, if any."
    organizer: str | None = None
    "Organizer's calendar address, if any."
    start: datetime
    "Start, UTC."
    end: datetime
    "End, UTC (start when the source gives none)."
    timezone: str | None = None
    "IANA or source time zone id the meeting was planned in, if known."
    recurrence_rule: str | None = None
    "RRULE value for a recurring meeting, if any."
    attendees: tuple[Attendee, ...] = ()
    "Invited people and their answers."
    sequence: int = 0
    "iCalendar SEQUENCE: revision number of the meeting."
    organizer_person: str | None = None
    "Person id that the identity map resolves 'organizer' to; null when unknown."
    all_day: bool = False
    "True for an all-day (DATE-valued) meeting; start/end are then UTC midnights of the dates."
    occurrence: datetime | None = None
    "For one occurrence of a recurring meeting: its original start (RECURRENCE-ID), UTC."
    status: str | None = None
    "iCalendar STATUS (CONFIRMED, TENTATIVE, CANCELLED), if given."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        data["attendees"] = [x0.to_avro() for x0 in self.attendees]
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "uid": data["uid"],
            "calendar": data.get("calendar", None),
            "title": data["title"],
            "description": data.get("description", None),
            "location": data.get("location", None),
            "organizer": data.get("organizer", None),
            "start": data["start"],
            "end": data["end"],
            "timezone": data.get("timezone", None),
            "recurrence_rule": data.get("recurrence_rule", None),
            "attendees": tuple(Attendee.from_avro(x0) for x0 in data.get("attendees", ())),
            "sequence": data.get("sequence", 0),
            "organizer_person": data.get("organizer_person", None),
            "all_day": data.get("all_day", False),
            "occurrence": data.get("occurrence", None),
            "status": data.get("status", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["attendees"] = tuple(Attendee.adopt_avro(x0) for x0 in data["attendees"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MeetingUpdated(Record):
    "A scheduled meeting changed (time, attendees, answers, ...); carries the full new state."

    FULLNAME: ClassVar[str] = "agentstream.events.calendar.MeetingUpdated"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.calendar.MeetingUpdated")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    uid: str
    "iCalendar UID of the meeting (stable across updates)."
    calendar: str | None = None
    "Calendar the meeting belongs to, if known."
    title: str
    "Summary line."
    description: str | None = None
    "Description text, if any."
    location: str | None = None
    "Location or conference link, if any."
    organizer: str | None = None
    "Organizer's calendar address, if any."
    start: datetime
    "Start, UTC."
    end: datetime
    "End, UTC (start when the source gives none)."
    timezone: str | None = None
    "IANA or source time zone id the meeting was planned in, if known."
    recurrence_rule: str | None = None
    "RRULE value for a recurring meeting, if any."
    attendees: tuple[Attendee, ...] = ()
    "Invited people and their answers."
    sequence: int = 0
    "iCalendar SEQUENCE: revision number of the meeting."
    changed_fields: tuple[str, ...] = ()
    "Names of the fields that changed, when known."
    organizer_person: str | None = None
    "Person id that the identity map resolves 'organizer' to; null when unknown."
    all_day: bool = False
    "True for an all-day (DATE-valued) meeting; start/end are then UTC midnights of the dates."
    occurrence: datetime | None = None
    "For one occurrence of a recurring meeting: its original start (RECURRENCE-ID), UTC."
    status: str | None = None
    "iCalendar STATUS (CONFIRMED, TENTATIVE, CANCELLED), if given."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        data["attendees"] = [x0.to_avro() for x0 in self.attendees]
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "uid": data["uid"],
            "calendar": data.get("calendar", None),
            "title": data["title"],
            "description": data.get("description", None),
            "location": data.get("location", None),
            "organizer": data.get("organizer", None),
            "start": data["start"],
            "end": data["end"],
            "timezone": data.get("timezone", None),
            "recurrence_rule": data.get("recurrence_rule", None),
            "attendees": tuple(Attendee.from_avro(x0) for x0 in data.get("attendees", ())),
            "sequence": data.get("sequence", 0),
            "changed_fields": tuple(data.get("changed_fields", ())),
            "organizer_person": data.get("organizer_person", None),
            "all_day": data.get("all_day", False),
            "occurrence": data.get("occurrence", None),
            "status": data.get("status", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["attendees"] = tuple(Attendee.adopt_avro(x0) for x0 in data["attendees"])
        data["changed_fields"] = tuple(data["changed_fields"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


