"""Slack Events API envelopes and workspace-export messages → ``events.chat``.

Events are keyed by channel. Message subtypes decide the event: ``message_changed`` is an edit,
``message_deleted`` a deletion, ``bot_message`` (or a ``bot_id``) a bot's message, a ``thread_ts``
other than ``ts`` a thread reply. Slack also sends some facts twice (``app_mention`` next to the
``message`` of the same text, ``channel_join`` messages next to ``member_joined_channel``); the
second copy is skipped with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agentstream.connectors._common import Out, field_at, millis
from agentstream.connectors._errors import MalformedPayloadError
from agentstream.events import (
    ChannelArchived,
    ChannelCreated,
    ChannelRenamed,
    MemberJoinedChannel,
    MemberLeftChannel,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    ReactionRemoved,
)

__all__ = ["normalize_slack_event", "normalize_slack_export_channel", "slack_ts"]

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# Subtypes that are still someone posting a message.
_POSTED = {
    None,
    "",
    "bot_message",
    "thread_broadcast",
    "file_share",
    "me_message",
    "reply_broadcast",
}
_DUPLICATE_SUBTYPES = {
    "channel_join": "message.channel_join: reported as member_joined_channel",
    "channel_leave": "message.channel_leave: reported as member_left_channel",
    "channel_name": "message.channel_name: reported as channel_rename",
    "channel_archive": "message.channel_archive: reported as channel_archive",
    "channel_unarchive": "message.channel_unarchive: reported as channel_unarchive",
}


_NOT_TRACKED = {"app_mention": "app_mention: the same message is reported by its message event"}


def slack_ts(value: Any, default: datetime) -> datetime:
    """A Slack ``ts`` (``"1531420618.000200"``; some events omit the dot) or epoch seconds."""
    if value is None or value == "":
        return default
    text = str(value)
    try:
        if "." not in text and len(text) > 10 and text.isdigit():
            secs = int(text[:10]) + int(text[10:]) / 10 ** len(text[10:])
        else:
            secs = float(text)
    except ValueError:
        return default
    return millis(datetime.fromtimestamp(secs, UTC))


class _Slack:
    def __init__(
        self, out: Out, *, team: str | None, channel_hint: str | None, export: bool = False
    ) -> None:
        self.export = export
        self.out = out
        self.team = team
        self.channel_hint = channel_hint

    def person(self, user: str | None) -> str | None:
        return self.out.person("slack", user)

    def channel_of(self, ev: Mapping[str, Any]) -> str:
        ch = ev.get("channel")
        if isinstance(ch, Mapping):
            ch = ch.get("id")
        ch = ch or self.channel_hint
        if not ch:
            raise MalformedPayloadError(f"Slack {ev.get('type')} event: no channel")
        return str(ch)

    def message(self, ev: Mapping[str, Any], *, reply_count: int = 0) -> str | None:
        subtype = ev.get("subtype")
        if self.export and subtype in ("channel_join", "channel_leave"):
            # An export has no member_joined_channel events: its join messages are the record.
            kind = "member_joined_channel" if subtype == "channel_join" else "member_left_channel"
            return self.membership({**ev, "type": kind, "event_ts": ev.get("ts")})
        if subtype in _DUPLICATE_SUBTYPES:
            return _DUPLICATE_SUBTYPES[subtype]
        if subtype == "message_changed":
            return self.edited(ev)
        if subtype == "message_deleted":
            return self.deleted(ev)
        if subtype not in _POSTED:
            return f"message.{subtype}: not an event the product tracks"
        channel = self.channel_of(ev)
        ts = str(field_at(ev, "ts", what="Slack message"))
        user = ev.get("user")
        bot_id = ev.get("bot_id")
        is_bot = bool(bot_id) or subtype == "bot_message"
        thread_ts = ev.get("thread_ts")
        bot_name = ev.get("username") or (ev.get("bot_profile") or {}).get("name")
        text = str(ev.get("text") or "")
        o = self.out
        when = slack_ts(ts, o.received_at)
        o.add(
            "chat",
            MessagePosted(
                meta=o.meta(MessagePosted, channel, when, ts),
                team=ev.get("team") or self.team,
                channel=channel,
                user=str(user or bot_id or ""),
                user_person=self.person(user),
                text=text,
                ts=ts,
                thread_ts=thread_ts,
                posted_at=when,
                subtype=subtype or None,
                is_bot=is_bot,
                bot_id=bot_id,
                bot_name=bot_name,
                is_thread_reply=bool(thread_ts) and thread_ts != ts,
                reply_count=int(ev.get("reply_count") or reply_count),
                mentions=tuple(dict.fromkeys(_MENTION.findall(text))),
            ),
        )
        return None

    def edited(self, ev: Mapping[str, Any]) -> str | None:
        channel = self.channel_of(ev)
        msg = ev.get("message") or {}
        prev = ev.get("previous_message") or {}
        if not isinstance(msg, Mapping) or not isinstance(prev, Mapping):
            raise MalformedPayloadError("Slack message_changed: 'message' is not an object")
        ts = msg.get("ts") or prev.get("ts")
        if not ts:
            raise MalformedPayloadError(
                "Slack message_changed: neither message.ts nor previous_message.ts"
            )
        if prev and msg.get("text") == prev.get("text"):
            # Unfurls and thread-count updates arrive as message_changed with the same text.
            return "message.message_changed: the text did not change (an unfurl or a reply count)"
        user = msg.get("user") or prev.get("user") or msg.get("bot_id") or ""
        o = self.out
        edited_ts = (msg.get("edited") or {}).get("ts") or ev.get("event_ts") or ev.get("ts")
        when = slack_ts(edited_ts, o.received_at)
        o.add(
            "chat",
            MessageEdited(
                meta=o.meta(MessageEdited, channel, when, ts, edited_ts),
                team=self.team,
                channel=channel,
                user=str(user),
                user_person=self.person(str(user)),
                ts=str(ts),
                thread_ts=msg.get("thread_ts"),
                text=str(msg.get("text") or ""),
                previous_text=prev.get("text"),
                edited_at=when,
            ),
        )
        return None

    def deleted(self, ev: Mapping[str, Any]) -> str | None:
        channel = self.channel_of(ev)
        prev = ev.get("previous_message") or {}
        ts = ev.get("deleted_ts") or (prev.get("ts") if isinstance(prev, Mapping) else None)
        if not ts:
            raise MalformedPayloadError("Slack message_deleted: no deleted_ts")
        user = prev.get("user") if isinstance(prev, Mapping) else None
        o = self.out
        when = slack_ts(ev.get("event_ts") or ev.get("ts"), o.received_at)
        o.add(
            "chat",
            MessageDeleted(
                meta=o.meta(MessageDeleted, channel, when, ts),
                team=self.team,
                channel=channel,
                ts=str(ts),
                user=user,
                user_person=self.person(user),
                thread_ts=prev.get("thread_ts") if isinstance(prev, Mapping) else None,
                deleted_at=when,
            ),
        )
        return None

    def reaction(self, ev: Mapping[str, Any], added: bool) -> str | None:
        item = field_at(ev, "item", what="Slack reaction event")
        if not isinstance(item, Mapping) or item.get("type") != "message":
            kind = item.get("type") if isinstance(item, Mapping) else "?"
            return f"{ev.get('type')}: on a {kind}, not on a message"
        channel = str(field_at(item, "channel", what="Slack reaction item"))
        user = str(field_at(ev, "user", what="Slack reaction event"))
        reaction = str(field_at(ev, "reaction", what="Slack reaction event"))
        item_ts = str(field_at(item, "ts", what="Slack reaction item"))
        item_user = ev.get("item_user")
        o = self.out
        when = slack_ts(ev.get("event_ts"), o.received_at)
        common: dict[str, Any] = {
            "team": self.team,
            "channel": channel,
            "user": user,
            "user_person": self.person(user),
            "reaction": reaction,
            "item_ts": item_ts,
            "item_user": item_user,
            "item_user_person": self.person(item_user),
        }
        if added:
            o.add(
                "chat",
                ReactionAdded(
                    meta=o.meta(ReactionAdded, channel, when, user, reaction, item_ts),
                    **common,
                    reacted_at=when,
                ),
            )
        else:
            o.add(
                "chat",
                ReactionRemoved(
                    meta=o.meta(
                        ReactionRemoved, channel, when, user, reaction, item_ts, ev.get("event_ts")
                    ),
                    **common,
                    removed_at=when,
                ),
            )
        return None

    def channel_created(self, ch: Mapping[str, Any]) -> str | None:
        channel = str(field_at(ch, "id", what="Slack channel"))
        creator = str(ch.get("creator") or "")
        o = self.out
        when = slack_ts(ch.get("created"), o.received_at)
        o.add(
            "chat",
            ChannelCreated(
                meta=o.meta(ChannelCreated, channel, when),
                team=self.team,
                channel=channel,
                name=str(ch.get("name") or ""),
                creator=creator,
                creator_person=self.person(creator),
                created_at=when,
            ),
        )
        return None

    def channel_change(self, ev: Mapping[str, Any]) -> str | None:
        etype = str(ev.get("type"))
        o = self.out
        when = slack_ts(ev.get("event_ts"), o.received_at)
        if etype == "channel_rename":
            ch = field_at(ev, "channel", what="Slack channel_rename")
            cid = str(field_at(ch, "id", what="Slack channel_rename"))
            o.add(
                "chat",
                ChannelRenamed(
                    meta=o.meta(ChannelRenamed, cid, when, ch.get("name")),
                    team=self.team,
                    channel=cid,
                    name=str(ch.get("name") or ""),
                    renamed_at=when,
                ),
            )
            return None
        cid = self.channel_of(ev)
        user = ev.get("user")
        o.add(
            "chat",
            ChannelArchived(
                meta=o.meta(ChannelArchived, cid, when, etype),
                team=self.team,
                channel=cid,
                archived=etype == "channel_archive",
                user=user,
                user_person=self.person(user),
                changed_at=when,
            ),
        )
        return None

    def membership(self, ev: Mapping[str, Any]) -> str | None:
        etype = str(ev.get("type"))
        o = self.out
        when = slack_ts(ev.get("event_ts"), o.received_at)
        cid = self.channel_of(ev)
        user = str(field_at(ev, "user", what=f"Slack {etype}"))
        if etype == "member_joined_channel":
            inviter = ev.get("inviter")
            o.add(
                "chat",
                MemberJoinedChannel(
                    meta=o.meta(MemberJoinedChannel, cid, when, user),
                    team=ev.get("team") or self.team,
                    channel=cid,
                    user=user,
                    user_person=self.person(user),
                    inviter=inviter,
                    inviter_person=self.person(inviter),
                    channel_type=ev.get("channel_type"),
                    joined_at=when,
                ),
            )
        else:
            o.add(
                "chat",
                MemberLeftChannel(
                    meta=o.meta(MemberLeftChannel, cid, when, user),
                    team=ev.get("team") or self.team,
                    channel=cid,
                    user=user,
                    user_person=self.person(user),
                    channel_type=ev.get("channel_type"),
                    left_at=when,
                ),
            )
        return None

    def event(self, ev: Mapping[str, Any]) -> str | None:
        etype = str(ev.get("type") or "")
        if etype == "message":
            return self.message(ev)
        if etype in ("reaction_added", "reaction_removed"):
            return self.reaction(ev, etype == "reaction_added")
        if etype == "channel_created":
            return self.channel_created(field_at(ev, "channel", what="Slack channel_created"))
        if etype in ("channel_rename", "channel_archive", "channel_unarchive"):
            return self.channel_change(ev)
        if etype in ("member_joined_channel", "member_left_channel"):
            return self.membership(ev)
        return _NOT_TRACKED.get(etype, f"unsupported Slack event {etype!r}")


def normalize_slack_event(
    out: Out, payload: Any, *, channel_hint: str | None = None, export: bool = False
) -> str | None:
    """One Events API body (an ``event_callback`` envelope, a ``url_verification``, or a bare
    inner event), or one export message object. Returns a skip reason when nothing results."""
    if not isinstance(payload, Mapping):
        raise MalformedPayloadError("Slack payload is not a JSON object")
    ptype = payload.get("type")
    if ptype == "url_verification":
        return "url_verification: Slack checking the request URL"
    if ptype == "app_rate_limited":
        return "app_rate_limited: Slack reporting that events were dropped"
    if ptype == "event_callback":
        ev = field_at(payload, "event", what="Slack event_callback")
        if not isinstance(ev, Mapping):
            raise MalformedPayloadError("Slack event_callback: 'event' is not an object")
        team = payload.get("team_id") or ev.get("team")
        return _Slack(out, team=team, channel_hint=channel_hint).event(ev)
    if isinstance(ptype, str) and ptype:
        # A bare inner event (RTM style) or an export message.
        slack = _Slack(out, team=payload.get("team"), channel_hint=channel_hint, export=export)
        return slack.event(payload)
    raise MalformedPayloadError("Slack payload has no 'type': not an Events API body or a message")


def normalize_slack_export_channel(out: Out, channel: Any) -> str | None:
    """One entry of an export's ``channels.json``: the channel's creation."""
    if not isinstance(channel, Mapping):
        raise MalformedPayloadError("Slack export channel entry is not a JSON object")
    return _Slack(out, team=None, channel_hint=None).channel_created(channel)


SUPPORTED_SLACK_EVENTS = frozenset(
    {
        "message",
        "reaction_added",
        "reaction_removed",
        "channel_created",
        "channel_rename",
        "channel_archive",
        "channel_unarchive",
        "member_joined_channel",
        "member_left_channel",
    }
)
