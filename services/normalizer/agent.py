"""The normalizer: raw connector records (``ingest.*``) in, semantic events out.

``ingest.github`` → ``events.code``, ``ingest.slack`` → ``events.chat``, ``ingest.calendar`` →
``events.calendar``; each event keyed by the entity it is about, its id derived from the raw
record's id (so a redelivered webhook yields the same ids). Records that carry nothing of
interest are counted in ``agentstream_normalizer_skipped_total{source,reason}``; records that
cannot be read raise ``MalformedPayloadError`` (non-retryable) and go to ``dlq.normalizer``.

Run: ``agentstream run services.normalizer.agent:agent``.
"""

from __future__ import annotations

import logging

from agentstream.config import KafkaSettings
from agentstream.connectors import Normalizer, NormalizerSettings, StoreBuildLedger, ingest_topic
from agentstream.connectors.metrics import NORMALIZER_SKIPPED, skip_label
from agentstream.events import (
    BuildFailed,
    BuildRecovered,
    ChannelArchived,
    ChannelCreated,
    ChannelRenamed,
    CommentAdded,
    CommentDeleted,
    CommentEdited,
    DeploymentCreated,
    DeploymentStatusChanged,
    IssueClosed,
    IssueOpened,
    IssueReopened,
    MeetingCancelled,
    MeetingScheduled,
    MeetingUpdated,
    MemberJoinedChannel,
    MemberLeftChannel,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    PullRequestClosed,
    PullRequestConvertedToDraft,
    PullRequestMerged,
    PullRequestOpened,
    PullRequestReadyForReview,
    RawRecord,
    ReactionAdded,
    ReactionRemoved,
    ReleasePublished,
    ReviewRequested,
    ReviewRequestRemoved,
    ReviewSubmitted,
)
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context

__all__ = ["agent", "make_agent"]

log = logging.getLogger("agentstream.normalizer")

CODE = [
    PullRequestOpened, PullRequestReadyForReview, PullRequestConvertedToDraft, PullRequestMerged,
    PullRequestClosed, ReviewRequested, ReviewRequestRemoved, ReviewSubmitted, CommentAdded,
    CommentEdited, CommentDeleted, IssueOpened, IssueClosed, IssueReopened, BuildFailed,
    BuildRecovered, ReleasePublished, DeploymentCreated, DeploymentStatusChanged,
]  # fmt: skip
CHAT = [
    MessagePosted, MessageEdited, MessageDeleted, ReactionAdded, ReactionRemoved, ChannelCreated,
    ChannelRenamed, ChannelArchived, MemberJoinedChannel, MemberLeftChannel,
]  # fmt: skip
CALENDAR = [MeetingScheduled, MeetingUpdated, MeetingCancelled]


def make_agent(
    *,
    name: str = "normalizer",
    topic_prefix: str = "",
    normalizer: Normalizer | None = None,
) -> Agent:
    """The normalizer agent over ``<prefix>ingest.*`` → ``<prefix>events.*``."""
    norm = normalizer or Normalizer(settings=NormalizerSettings(), topic_prefix=topic_prefix)
    agent = Agent(
        name,
        version="1.0.0",
        emits_to={
            f"{topic_prefix}events.code": CODE,
            f"{topic_prefix}events.chat": CHAT,
            f"{topic_prefix}events.calendar": CALENDAR,
        },
        # Failed builds per (repo, kind, workflow, branch), so that a later success is reported
        # as BuildRecovered even after a restart or a rebalance.
        stores=[StoreSpec("builds")],
    )

    async def handle(raw: RawRecord, ctx: Context) -> None:
        # MalformedPayloadError is non-retryable: the record goes to dlq.<name> with the reason.
        result = norm.normalize(raw, ledger=StoreBuildLedger(ctx.store("builds")))
        for emitted in result.events:
            await ctx.emit(emitted.event, topic=emitted.topic, key=emitted.key)
        if result.skipped:
            NORMALIZER_SKIPPED.labels(raw.source, skip_label(result.skipped)).inc()
            log.debug("skipped %s %s: %s", raw.source, raw.kind, result.skipped)

    for source in ("github", "slack", "ics"):
        agent.handler(RawRecord, topic=ingest_topic(source, prefix=topic_prefix))(handle)
    return agent


agent = make_agent(topic_prefix=KafkaSettings().topic_prefix)
