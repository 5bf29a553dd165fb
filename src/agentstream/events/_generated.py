"""Every record class generated from ``schemas/*.avsc``, and ``RECORDS``.

DO NOT EDIT.

Regenerate with ``agentstream schemas codegen``; the classes live in one ``_gen_*`` module per
Avro namespace.
"""

from __future__ import annotations

from agentstream.schemas._record import Record
from agentstream.events._gen_events_assistant import BriefingRequested
from agentstream.events._gen_events_calendar import Attendee, AttendeeResponse, MeetingCancelled, MeetingScheduled, MeetingUpdated
from agentstream.events._gen_events_chat import ChannelCreated, MessagePosted, ReactionAdded
from agentstream.events._gen_events_code import BuildFailed, CommentAdded, IssueClosed, IssueOpened, PullRequestClosed, PullRequestMerged, PullRequestOpened, ReleasePublished, ReviewRequested, ReviewState, ReviewSubmitted
from agentstream.events._gen_insights import ActivitySummary, AssistantAnswered, BriefingReady, RiskDetected, RiskSeverity
from agentstream.events._gen_meta import EventMeta
from agentstream.events._gen_platform import AgentDescriptor, DeadLetter, DeadLetterStage, Header, RawRecord, Subscription

__all__ = [
    "RECORDS",
    "ActivitySummary",
    "AgentDescriptor",
    "AssistantAnswered",
    "Attendee",
    "AttendeeResponse",
    "BriefingReady",
    "BriefingRequested",
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

RECORDS: dict[str, type[Record]] = {
    "agentstream.events.assistant.BriefingRequested": BriefingRequested,
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
    "agentstream.insights.AssistantAnswered": AssistantAnswered,
    "agentstream.insights.BriefingReady": BriefingReady,
    "agentstream.insights.RiskDetected": RiskDetected,
    "agentstream.meta.EventMeta": EventMeta,
    "agentstream.platform.AgentDescriptor": AgentDescriptor,
    "agentstream.platform.DeadLetter": DeadLetter,
    "agentstream.platform.Header": Header,
    "agentstream.platform.RawRecord": RawRecord,
    "agentstream.platform.Subscription": Subscription,
}
