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
    "ChannelArchived",
    "ChannelCreated",
    "ChannelRenamed",
    "MemberJoinedChannel",
    "MemberLeftChannel",
    "MessageDeleted",
    "MessageEdited",
    "MessagePosted",
    "ReactionAdded",
    "ReactionRemoved",
]


@dataclass(frozen=True, kw_only=True)
class ChannelArchived(Record):
    "A channel was archived (or unarchived, see 'archived')."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.ChannelArchived"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.ChannelArchived")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    archived: bool = True
    "True for archived, false for unarchived."
    user: str | None = None
    "Id of the user who did it, if known."
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    changed_at: datetime
    "When it happened, UTC."

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
            "archived": data.get("archived", True),
            "user": data.get("user", None),
            "user_person": data.get("user_person", None),
            "changed_at": data["changed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
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
    creator_person: str | None = None
    "Person id that the identity map resolves 'creator' to; null when unknown."

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
            "creator_person": data.get("creator_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ChannelRenamed(Record):
    "A channel was renamed."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.ChannelRenamed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.ChannelRenamed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    name: str
    "New channel name without '#'."
    renamed_at: datetime
    "When it was renamed, UTC."

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
            "renamed_at": data["renamed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MemberJoinedChannel(Record):
    "A user joined (or was added to) a channel."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.MemberJoinedChannel"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.MemberJoinedChannel")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    user: str
    "Id of the user who joined."
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    inviter: str | None = None
    "Id of the user who added them, if any."
    inviter_person: str | None = None
    "Person id that the identity map resolves 'inviter' to; null when unknown."
    channel_type: str | None = None
    "Slack channel type: 'C' public, 'G' private, if known."
    joined_at: datetime
    "When they joined, UTC."

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
            "user_person": data.get("user_person", None),
            "inviter": data.get("inviter", None),
            "inviter_person": data.get("inviter_person", None),
            "channel_type": data.get("channel_type", None),
            "joined_at": data["joined_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MemberLeftChannel(Record):
    "A user left (or was removed from) a channel."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.MemberLeftChannel"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.MemberLeftChannel")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    user: str
    "Id of the user who left."
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    channel_type: str | None = None
    "Slack channel type: 'C' public, 'G' private, if known."
    left_at: datetime
    "When they left, UTC."

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
            "user_person": data.get("user_person", None),
            "channel_type": data.get("channel_type", None),
            "left_at": data["left_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MessageDeleted(Record):
    "A chat message was deleted (Slack subtype message_deleted)."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.MessageDeleted"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.MessageDeleted")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    ts: str
    "ts of the deleted message."
    user: str | None = None
    "Id of the deleted message's author, if Slack sent it."
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    thread_ts: str | None = None
    "ts of the thread's parent message when the message was in a thread."
    deleted_at: datetime
    "When it was deleted, UTC."

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
            "ts": data["ts"],
            "user": data.get("user", None),
            "user_person": data.get("user_person", None),
            "thread_ts": data.get("thread_ts", None),
            "deleted_at": data["deleted_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class MessageEdited(Record):
    "A chat message was edited (Slack subtype message_changed)."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.MessageEdited"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.MessageEdited")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    user: str
    "Id of the message's author."
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    ts: str
    "ts of the edited message (its id within the channel)."
    thread_ts: str | None = None
    "ts of the thread's parent message when the message is in a thread."
    text: str
    "Text after the edit."
    previous_text: str | None = None
    "Text before the edit, if Slack sent it."
    edited_at: datetime
    "When it was edited, UTC."

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
            "user_person": data.get("user_person", None),
            "ts": data["ts"],
            "thread_ts": data.get("thread_ts", None),
            "text": data["text"],
            "previous_text": data.get("previous_text", None),
            "edited_at": data["edited_at"],
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
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    subtype: str | None = None
    "Slack message subtype (e.g. 'bot_message', 'thread_broadcast', 'file_share'); null for a plain message."
    is_bot: bool = False
    "True when a bot or app posted it."
    bot_id: str | None = None
    "Slack bot id when a bot posted it."
    bot_name: str | None = None
    "Bot or app display name when a bot posted it."
    is_thread_reply: bool = False
    "True when posted as a reply in a thread (thread_ts set and different from ts)."
    reply_count: int = 0
    "Replies the message had when it was exported (export files); 0 otherwise."
    mentions: tuple[str, ...] = ()
    "User ids mentioned in the text (<@U...>)."

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
            "user_person": data.get("user_person", None),
            "subtype": data.get("subtype", None),
            "is_bot": data.get("is_bot", False),
            "bot_id": data.get("bot_id", None),
            "bot_name": data.get("bot_name", None),
            "is_thread_reply": data.get("is_thread_reply", False),
            "reply_count": data.get("reply_count", 0),
            "mentions": tuple(data.get("mentions", ())),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["mentions"] = tuple(data["mentions"])
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
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    item_user_person: str | None = None
    "Person id that the identity map resolves 'item_user' to; null when unknown."

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
            "user_person": data.get("user_person", None),
            "item_user_person": data.get("item_user_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReactionRemoved(Record):
    "A reaction (emoji) was removed from a message."

    FULLNAME: ClassVar[str] = "agentstream.events.chat.ReactionRemoved"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.chat.ReactionRemoved")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    team: str | None = None
    "Slack workspace (team) id, if known."
    channel: str
    "Channel id, e.g. 'C0123'."
    user: str
    "Id of the user who removed the reaction."
    user_person: str | None = None
    "Person id that the identity map resolves 'user' to; null when unknown."
    reaction: str
    "Emoji name without colons."
    item_ts: str
    "ts of the message."
    item_user: str | None = None
    "Id of the author of the message, if known."
    item_user_person: str | None = None
    "Person id that the identity map resolves 'item_user' to; null when unknown."
    removed_at: datetime
    "When the reaction was removed, UTC."

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
            "user_person": data.get("user_person", None),
            "reaction": data["reaction"],
            "item_ts": data["item_ts"],
            "item_user": data.get("item_user", None),
            "item_user_person": data.get("item_user_person", None),
            "removed_at": data["removed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


