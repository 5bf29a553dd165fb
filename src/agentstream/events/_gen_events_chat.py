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

from agentstream.schemas._record import Record, schema_of
from agentstream.events._gen_meta import EventMeta

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "ChannelCreated",
    "MessagePosted",
    "ReactionAdded",
]


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


