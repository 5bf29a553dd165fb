"""Every record class generated from ``schemas/*.avsc``, and ``RECORDS``.

DO NOT EDIT.

Regenerate with ``agentstream schemas codegen``; the classes live in the ``_gen_*`` modules,
one per Avro namespace (split into several past 600 lines).
"""

from __future__ import annotations

from agentstream.schemas import Record
from agentstream.events._gen_events_assistant import BriefingRequested
from agentstream.events._gen_events_calendar import Attendee, AttendeeResponse, MeetingCancelled, MeetingScheduled, MeetingUpdated
from agentstream.events._gen_events_chat import ChannelArchived, ChannelCreated, ChannelRenamed, MemberJoinedChannel, MemberLeftChannel, MessageDeleted, MessageEdited, MessagePosted, ReactionAdded, ReactionRemoved
from agentstream.events._gen_events_code import BuildFailed, BuildRecovered, CommentAdded, CommentDeleted, CommentEdited, DeploymentCreated, ReviewState
from agentstream.events._gen_events_code_2 import DeploymentStatusChanged, IssueClosed, IssueOpened, IssueReopened, PullRequestClosed, PullRequestConvertedToDraft, PullRequestMerged
from agentstream.events._gen_events_code_3 import PullRequestOpened, PullRequestReadyForReview, ReleasePublished, ReviewRequestRemoved, ReviewRequested, ReviewSubmitted
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
    "BuildRecovered",
    "ChannelArchived",
    "ChannelCreated",
    "ChannelRenamed",
    "CommentAdded",
    "CommentDeleted",
    "CommentEdited",
    "DeadLetter",
    "DeadLetterStage",
    "DeploymentCreated",
    "DeploymentStatusChanged",
    "EventMeta",
    "Header",
    "IssueClosed",
    "IssueOpened",
    "IssueReopened",
    "MeetingCancelled",
    "MeetingScheduled",
    "MeetingUpdated",
    "MemberJoinedChannel",
    "MemberLeftChannel",
    "MessageDeleted",
    "MessageEdited",
    "MessagePosted",
    "PullRequestClosed",
    "PullRequestConvertedToDraft",
    "PullRequestMerged",
    "PullRequestOpened",
    "PullRequestReadyForReview",
    "RawRecord",
    "ReactionAdded",
    "ReactionRemoved",
    "ReleasePublished",
    "ReviewRequestRemoved",
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
    "agentstream.events.chat.ChannelArchived": ChannelArchived,
    "agentstream.events.chat.ChannelCreated": ChannelCreated,
    "agentstream.events.chat.ChannelRenamed": ChannelRenamed,
    "agentstream.events.chat.MemberJoinedChannel": MemberJoinedChannel,
    "agentstream.events.chat.MemberLeftChannel": MemberLeftChannel,
    "agentstream.events.chat.MessageDeleted": MessageDeleted,
    "agentstream.events.chat.MessageEdited": MessageEdited,
    "agentstream.events.chat.MessagePosted": MessagePosted,
    "agentstream.events.chat.ReactionAdded": ReactionAdded,
    "agentstream.events.chat.ReactionRemoved": ReactionRemoved,
    "agentstream.events.code.BuildFailed": BuildFailed,
    "agentstream.events.code.BuildRecovered": BuildRecovered,
    "agentstream.events.code.CommentAdded": CommentAdded,
    "agentstream.events.code.CommentDeleted": CommentDeleted,
    "agentstream.events.code.CommentEdited": CommentEdited,
    "agentstream.events.code.DeploymentCreated": DeploymentCreated,
    "agentstream.events.code.DeploymentStatusChanged": DeploymentStatusChanged,
    "agentstream.events.code.IssueClosed": IssueClosed,
    "agentstream.events.code.IssueOpened": IssueOpened,
    "agentstream.events.code.IssueReopened": IssueReopened,
    "agentstream.events.code.PullRequestClosed": PullRequestClosed,
    "agentstream.events.code.PullRequestConvertedToDraft": PullRequestConvertedToDraft,
    "agentstream.events.code.PullRequestMerged": PullRequestMerged,
    "agentstream.events.code.PullRequestOpened": PullRequestOpened,
    "agentstream.events.code.PullRequestReadyForReview": PullRequestReadyForReview,
    "agentstream.events.code.ReleasePublished": ReleasePublished,
    "agentstream.events.code.ReviewRequestRemoved": ReviewRequestRemoved,
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
