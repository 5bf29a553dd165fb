"""Record classes generated from the Avro contract in ``schemas/*.avsc``. DO NOT EDIT.

Regenerate with ``agentstream schemas codegen`` after changing a schema; a unit test fails when
this file is out of date.
"""

# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from agentstream.schemas._record import Record, schema_of

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "RECORDS",
    "ActivitySummary",
    "AgentDescriptor",
    "Attendee",
    "AttendeeResponse",
    "BriefingReady",
    "BuildFailed",
    "ChannelCreated",
    "CommentAdded",
    "DeadLetter",
    "DeadLetterStage",
    "EventMeta",
    "Header",
    "IssueClosed",
    "IssueOpened",
    "MeetingCancelled",
    "MeetingScheduled",
    "MeetingUpdated",
    "MessagePosted",
    "PullRequestClosed",
    "PullRequestMerged",
    "PullRequestOpened",
    "RawRecord",
    "ReactionAdded",
    "ReleasePublished",
    "ReviewRequested",
    "ReviewState",
    "ReviewSubmitted",
    "RiskDetected",
    "RiskSeverity",
    "Subscription",
]


class AttendeeResponse(StrEnum):
    "An attendee's answer (iCalendar PARTSTAT, lower case, '-' as '_')."

    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"
    DELEGATED = "delegated"


class ReviewState(StrEnum):
    "Outcome of a pull request review (GitHub's review states, lower case)."

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"
    PENDING = "pending"


class RiskSeverity(StrEnum):
    "How urgent a risk is."

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class DeadLetterStage(StrEnum):
    "Where processing failed."

    DECODE = "decode"
    HANDLE = "handle"
    EMIT = "emit"


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
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["response"] = AttendeeResponse(data["response"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


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

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
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
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
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


@dataclass(frozen=True, kw_only=True)
class ChannelCreated(Record):
    "A chat channel was created."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.ChannelCreated"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.ChannelCreated")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    name: str
    "Channel name without '#'."
    creator: str
    "Id of the user who created it."
    created_at: datetime
    "When it was created, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "team": data.get("team", None),
            "channel": data["channel"],
            "name": data["name"],
            "creator": data["creator"],
            "created_at": data["created_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MessagePosted(Record):
    "A message was posted in a chat channel."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.MessagePosted"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.MessagePosted")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    user: str
    "Id of the user who posted it."
    text: str
    "Message text as posted (Slack mrkdwn)."
    ts: str
    "Slack message timestamp, the message's id within the channel."
    thread_ts: str | None = None
    "ts of the thread's parent message when posted in a thread."
    posted_at: datetime
    "When it was posted, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "team": data.get("team", None),
            "channel": data["channel"],
            "user": data["user"],
            "text": data["text"],
            "ts": data["ts"],
            "thread_ts": data.get("thread_ts", None),
            "posted_at": data["posted_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReactionAdded(Record):
    "A reaction (emoji) was added to a message."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.ReactionAdded"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.ReactionAdded")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    user: str
    "Id of the user who reacted."
    reaction: str
    "Emoji name without colons, e.g. 'thumbsup'."
    item_ts: str
    "ts of the message reacted to."
    item_user: str | None = None
    "Id of the author of the message reacted to, if known."
    reacted_at: datetime
    "When the reaction was added, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "team": data.get("team", None),
            "channel": data["channel"],
            "user": data["user"],
            "reaction": data["reaction"],
            "item_ts": data["item_ts"],
            "item_user": data.get("item_user", None),
            "reacted_at": data["reacted_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class BuildFailed(Record):
    "A CI run (GitHub Actions workflow run or check run) finished unsuccessfully."

    FULLNAME: ClassVar[str] = "agentstream.events.code.BuildFailed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.BuildFailed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    workflow: str
    "Workflow or check name."
    run_id: int
    "Id of the run."
    url: str
    "Web (html) URL of the run."
    commit_sha: str
    "Head commit the run built."
    branch: str | None = None
    "Head branch, if any."
    conclusion: str
    "GitHub's conclusion, e.g. 'failure', 'timed_out', 'cancelled'."
    actor: str | None = None
    "Login of the user who triggered the run, if known."
    pull_requests: tuple[int, ...] = ()
    "Numbers of the pull requests the run belongs to."
    failed_at: datetime
    "When the run completed, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "workflow": data["workflow"],
            "run_id": data["run_id"],
            "url": data["url"],
            "commit_sha": data["commit_sha"],
            "branch": data.get("branch", None),
            "conclusion": data["conclusion"],
            "actor": data.get("actor", None),
            "pull_requests": tuple(data.get("pull_requests", ())),
            "failed_at": data["failed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["pull_requests"] = tuple(data["pull_requests"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class CommentAdded(Record):
    "A comment was added to an issue or pull request conversation."

    FULLNAME: ClassVar[str] = "agentstream.events.code.CommentAdded"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.CommentAdded")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue or pull request number within the repository."
    url: str
    "Web (html) URL of the comment."
    author: str
    "Login of the user who authored the comment."
    body: str
    "Comment text."
    on_pull_request: bool = False
    "True when the conversation belongs to a pull request."
    created_at: datetime
    "When the comment was created, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "author": data["author"],
            "body": data["body"],
            "on_pull_request": data.get("on_pull_request", False),
            "created_at": data["created_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class IssueClosed(Record):
    "An issue was closed."

    FULLNAME: ClassVar[str] = "agentstream.events.code.IssueClosed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.IssueClosed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the issue."
    closed_by: str | None = None
    "Login of the user who closed it, if known."
    state_reason: str | None = None
    "GitHub's reason: 'completed', 'not_planned', or null."
    closed_at: datetime
    "When it was closed, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "closed_by": data.get("closed_by", None),
            "state_reason": data.get("state_reason", None),
            "closed_at": data["closed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class IssueOpened(Record):
    "An issue was opened."

    FULLNAME: ClassVar[str] = "agentstream.events.code.IssueOpened"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.IssueOpened")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the issue."
    author: str
    "Login of the user who authored the issue."
    body: str | None = None
    "Issue text; null when empty."
    labels: tuple[str, ...] = ()
    "Label names at opening time."
    created_at: datetime
    "When the issue was created, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "body": data.get("body", None),
            "labels": tuple(data.get("labels", ())),
            "created_at": data["created_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["labels"] = tuple(data["labels"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestClosed(Record):
    "A pull request was closed without being merged."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestClosed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestClosed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    closed_by: str | None = None
    "Login of the user who closed it, if known."
    closed_at: datetime
    "When it was closed, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "closed_by": data.get("closed_by", None),
            "closed_at": data["closed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestMerged(Record):
    "A pull request was merged."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestMerged"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestMerged")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    merged_by: str | None = None
    "Login of the user who merged it, if known."
    merge_commit_sha: str | None = None
    "SHA of the merge commit, if known."
    merged_at: datetime
    "When it was merged, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "merged_by": data.get("merged_by", None),
            "merge_commit_sha": data.get("merge_commit_sha", None),
            "merged_at": data["merged_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestOpened(Record):
    "A pull request was opened (or reopened) on GitHub."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestOpened"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestOpened")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    base_branch: str
    "Branch the pull request wants to merge into."
    head_branch: str
    "Branch holding the proposed changes."
    draft: bool = False
    "Whether the pull request is a draft."
    body: str | None = None
    "Description text; null when empty."
    created_at: datetime
    "When the pull request was created on GitHub, UTC."
    additions: int | None = None
    "Lines added, if known."
    deletions: int | None = None
    "Lines deleted, if known."
    changed_files: int | None = None
    "Files changed, if known."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "base_branch": data["base_branch"],
            "head_branch": data["head_branch"],
            "draft": data.get("draft", False),
            "body": data.get("body", None),
            "created_at": data["created_at"],
            "additions": data.get("additions", None),
            "deletions": data.get("deletions", None),
            "changed_files": data.get("changed_files", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReleasePublished(Record):
    "A release was published."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReleasePublished"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReleasePublished")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    tag: str
    "Git tag of the release."
    name: str | None = None
    "Release title, if any."
    url: str
    "Web (html) URL of the release."
    author: str
    "Login of the user who authored the release."
    prerelease: bool = False
    "Whether it is marked as a pre-release."
    body: str | None = None
    "Release notes; null when empty."
    published_at: datetime
    "When it was published, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "tag": data["tag"],
            "name": data.get("name", None),
            "url": data["url"],
            "author": data["author"],
            "prerelease": data.get("prerelease", False),
            "body": data.get("body", None),
            "published_at": data["published_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReviewRequested(Record):
    "Someone was asked to review a pull request."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReviewRequested"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReviewRequested")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    url: str
    "Web (html) URL of the pull request."
    requested_by: str
    "Login of the user who requested the review."
    reviewer: str | None = None
    "Login of the requested reviewer; null when a team was requested."
    team: str | None = None
    "Slug of the requested team; null when a user was requested."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "requested_by": data["requested_by"],
            "reviewer": data.get("reviewer", None),
            "team": data.get("team", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReviewSubmitted(Record):
    "A review was submitted on a pull request."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReviewSubmitted"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReviewSubmitted")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    url: str
    "Web (html) URL of the review."
    reviewer: str
    "Login of the reviewer."
    state: ReviewState
    "What the reviewer concluded."
    body: str | None = None
    "Review text; null when empty."
    submitted_at: datetime
    "When the review was submitted, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "reviewer": data["reviewer"],
            "state": ReviewState(data["state"]),
            "body": data.get("body", None),
            "submitted_at": data["submitted_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["state"] = ReviewState(data["state"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


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
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        data["highlights"] = tuple(data["highlights"])
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
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["based_on"] = tuple(data["based_on"])
        data["severity"] = RiskSeverity(data["severity"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


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
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


RECORDS: dict[str, type[Record]] = {
    "agentstream.events.calendar.Attendee": Attendee,
    "agentstream.events.calendar.MeetingCancelled": MeetingCancelled,
    "agentstream.events.calendar.MeetingScheduled": MeetingScheduled,
    "agentstream.events.calendar.MeetingUpdated": MeetingUpdated,
    "agentstream.events.chat.ChannelCreated": ChannelCreated,
    "agentstream.events.chat.MessagePosted": MessagePosted,
    "agentstream.events.chat.ReactionAdded": ReactionAdded,
    "agentstream.events.code.BuildFailed": BuildFailed,
    "agentstream.events.code.CommentAdded": CommentAdded,
    "agentstream.events.code.IssueClosed": IssueClosed,
    "agentstream.events.code.IssueOpened": IssueOpened,
    "agentstream.events.code.PullRequestClosed": PullRequestClosed,
    "agentstream.events.code.PullRequestMerged": PullRequestMerged,
    "agentstream.events.code.PullRequestOpened": PullRequestOpened,
    "agentstream.events.code.ReleasePublished": ReleasePublished,
    "agentstream.events.code.ReviewRequested": ReviewRequested,
    "agentstream.events.code.ReviewSubmitted": ReviewSubmitted,
    "agentstream.insights.ActivitySummary": ActivitySummary,
    "agentstream.insights.BriefingReady": BriefingReady,
    "agentstream.insights.RiskDetected": RiskDetected,
    "agentstream.meta.EventMeta": EventMeta,
    "agentstream.platform.AgentDescriptor": AgentDescriptor,
    "agentstream.platform.DeadLetter": DeadLetter,
    "agentstream.platform.Header": Header,
    "agentstream.platform.RawRecord": RawRecord,
    "agentstream.platform.Subscription": Subscription,
}
