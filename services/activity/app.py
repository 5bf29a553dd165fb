"""activity: a Faust app counting team activity in windows, and PR cycle times.

- **repository x day**: every code event with a ``repo``, counted by type in tumbling one-day
  windows (UTC) of its own event time — the stream is re-keyed by repository first
  (``group_by`` through ``<app id>-code-by-repo``), so each window lives in one table partition;
- **channel x hour**: chat events by channel (``<app id>-chat-by-channel``), one-hour windows;
- **PR cycle time**: per pull request (the input's own key), pickup (opened → first review),
  review (first review → approval) and merge (approval → merged), published on merge.

Windows are Faust tables (``repo-day``, ``channel-hour``, ``pr-cycle``; changelogs
``<app id>-<table>-changelog``) keyed ``<entity>|<window start>``: Faust's own windowed tables
window by the Kafka timestamp, but our events carry their time in the payload and arrive
replayed. A window is summarised (``ActivitySummary`` on ``insights.activity``) once it ended
``GRACE`` ago and got no event for ``IDLE``; a late event publishes a revision. Summary ids are
derived from the window and the events counted, so a restart that publishes a window again
repeats its id (downstream dedupe hides it).

Run it: ``python -m services.activity`` (one worker: the flush timer reads every partition it
holds; more workers each publish the windows of their partitions).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from agentstream.bus import ensure_topic, make_admin, make_producer
from agentstream.config import KafkaSettings
from agentstream.discovery import ensure_agents_topic, publish_descriptor, withdraw_descriptor
from agentstream.events import (
    RECORDS,
    ActivitySummary,
    AgentDescriptor,
    DeadLetter,
    DeadLetterStage,
    Header,
    PullRequestMerged,
    PullRequestOpened,
    PullRequestReadyForReview,
    ReviewState,
    ReviewSubmitted,
    Subscription,
)
from agentstream.faustcodec import Undecodable, avro_codec
from agentstream.runtime import dlq_topic
from agentstream.schemas import new_meta
from agentstream.serde import make_serde
from services.activity.settings import ActivitySettings
from services.activity.windows import (
    add,
    cycle_times,
    event_time,
    summary_id,
    window_key,
    window_of,
)

__all__ = ["app", "main", "settings"]

log = logging.getLogger("agentstream.activity")
settings = ActivitySettings()
S = settings
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
SOURCE = f"faust.{S.app_id}"
VERSION = "0.1.0"
# The consumer's client.id, as agents do: `agentstream agents` tells live instances by it.
INSTANCE = S.instance_id or uuid.uuid4().hex[:12]
KAFKA = KafkaSettings()
# Descriptors and dead letters go through a small producer of their own.
_announcer = make_producer(KAFKA.client_config(**{"linger.ms": 0}))
_SERDE = make_serde(KAFKA)

app = faust.App(
    S.app_id,
    broker=f"kafka://{KAFKA.bootstrap_servers}",
    broker_client_id=INSTANCE,
    web_enabled=False,
    datadir=str(S.state_dir / S.app_id),
    topic_partitions=S.partitions,
    consumer_auto_offset_reset="earliest",
    # Tables keep JSON (the app's serializers); every topic of ours names its Avro codec.
    key_serializer="json",
    value_serializer="json",
)
# Inputs that do not decode reach the agents as ``Undecodable`` and are dead-lettered (Faust
# itself would log and skip them).
code = app.topic(S.code_topic, key_serializer="raw",
                 value_serializer=avro_codec(S.code_topic, undecodable="wrap"))
chat = app.topic(S.chat_topic, key_serializer="raw",
                 value_serializer=avro_codec(S.chat_topic, undecodable="wrap"))
by_repo_name, by_channel_name = f"{S.app_id}-code-by-repo", f"{S.app_id}-chat-by-channel"
by_repo = app.topic(by_repo_name, key_serializer="raw", value_serializer=avro_codec(by_repo_name),
                    partitions=S.partitions, internal=True)
by_channel = app.topic(by_channel_name, key_serializer="raw",
                       value_serializer=avro_codec(by_channel_name), partitions=S.partitions,
                       internal=True)
out = app.topic(S.activity_topic, key_serializer="raw",
                value_serializer=avro_codec(S.activity_topic))

repo_day = app.Table("repo-day", default=None, partitions=S.partitions)
channel_hour = app.Table("channel-hour", default=None, partitions=S.partitions)
pr_cycle = app.Table("pr-cycle", default=None, partitions=S.partitions)
# What this process published, by window key (a restart may publish a window again: same id).
_published: dict[str, str] = {}


def _summary(state: dict[str, Any], *, kind: str) -> ActivitySummary:
    counts = dict(state["counts"])
    total = sum(counts.values())
    top = ", ".join(f"{n} {t}" for t, n in sorted(counts.items(), key=lambda x: -x[1])[:4])
    span = "day" if kind == "repo" else "hour"
    meta = new_meta(ActivitySummary, source=SOURCE, subject=state["entity"])
    return ActivitySummary(
        meta=dataclasses.replace(meta, id=summary_id(S.app_id, state)),
        based_on=tuple(state["ids"]),
        entity=state["entity"],
        period_start=datetime.fromisoformat(state["start"]),
        period_end=datetime.fromisoformat(state["end"]),
        counts=counts,
        summary=f"{state['entity']}: {total} events in the {span} from {state['start']}"
        + (f" ({top})" if top else "") + ".",
        team=S.team,
        entities=(state["entity"],),
    )


DLQ = dlq_topic(S.app_id, prefix=KAFKA.topic_prefix)


async def _dead_letter(
    ev: Any, exc: Exception, stage: DeadLetterStage = DeadLetterStage.HANDLE
) -> None:
    """An event this app could not process goes to ``dlq.<app id>`` with the reason (the
    runtime's DeadLetter record, so `agentstream dlq list/show/replay <app id>` read it)."""
    msg = ev.message
    now = datetime.now(UTC)
    meta = getattr(ev.value, "meta", None)
    raw_value = msg.value if isinstance(msg.value, bytes) else None
    raw_key = msg.key if isinstance(msg.key, bytes) else None
    letter = DeadLetter(
        original_topic=msg.topic, original_partition=msg.partition, original_offset=msg.offset,
        original_key=raw_key, original_value=raw_value,
        original_headers=tuple(Header(key=k, value=v) for k, v in (msg.headers or ())),
        event_id=getattr(meta, "id", None), event_type=getattr(meta, "type", None),
        error_type=type(exc).__name__, error_message=str(exc)[:2000],
        stage=stage, attempts=1, first_failure_at=now, last_failure_at=now,
        agent=S.app_id,
    )
    log.warning("dead-lettered %s[%d]@%d: %r", msg.topic, msg.partition, msg.offset, exc)
    _announcer.produce(DLQ, key=raw_key, value=_SERDE.encode(DLQ, letter))
    await asyncio.to_thread(_announcer.flush, 30)


@app.agent(code)
async def regroup_code(stream: Any) -> None:
    """Re-key code events by repository for the repo x day windows."""
    async for ev in stream.events():
        if isinstance(ev.value, Undecodable):  # dead-lettered here, once (cycle_time skips it)
            await _dead_letter(ev, ev.value.error, DeadLetterStage.DECODE)
            continue
        repo = getattr(ev.value, "repo", None)
        if isinstance(repo, str):
            await by_repo.send(key=repo.encode(), value=ev.value)


@app.agent(chat)
async def regroup_chat(stream: Any) -> None:
    """Re-key chat events by channel for the channel x hour windows."""
    async for ev in stream.events():
        if isinstance(ev.value, Undecodable):
            await _dead_letter(ev, ev.value.error, DeadLetterStage.DECODE)
            continue
        channel = getattr(ev.value, "channel", None)
        if isinstance(channel, str):
            await by_channel.send(key=channel.encode(), value=ev.value)


@app.agent(by_repo)
async def count_repo_days(stream: Any) -> None:
    async for ev in stream.events():
        event = ev.value
        try:
            start, end = window_of(event_time(event), DAY)
            k = window_key(f"repo:{event.repo}", start)
            repo_day[k] = add(repo_day.get(k), event=event, start=start, end=end,
                              entity=f"repo:{event.repo}", limit=S.evidence_limit,
                              seen_at=time.time())
        except Exception as exc:
            await _dead_letter(ev, exc)


@app.agent(by_channel)
async def count_channel_hours(stream: Any) -> None:
    async for ev in stream.events():
        event = ev.value
        try:
            start, end = window_of(event_time(event), HOUR)
            k = window_key(f"channel:{event.channel}", start)
            channel_hour[k] = add(channel_hour.get(k), event=event, start=start, end=end,
                                  entity=f"channel:{event.channel}", limit=S.evidence_limit,
                                  seen_at=time.time())
        except Exception as exc:
            await _dead_letter(ev, exc)


def _pr_key(event: Any) -> str:
    return f"{event.repo}#{event.number}"


def _on_pr_event(pr: dict[str, Any] | None, event: Any) -> dict[str, Any] | None:
    """Fold a pull request event into its cycle state (None: not tracked)."""
    if isinstance(event, PullRequestOpened):
        pr = dict(pr or {})
        pr.setdefault("opened_at", event.created_at.isoformat())
        pr.setdefault("opened_id", event.meta.id)
        if event.draft:
            pr["draft"] = True
        return pr
    if pr is None:
        return None
    pr = dict(pr)
    if isinstance(event, PullRequestReadyForReview) and pr.get("draft"):
        pr["opened_at"], pr["draft"] = event.ready_at.isoformat(), False  # pickup from ready
        pr["opened_id"] = event.meta.id
    elif isinstance(event, ReviewSubmitted):
        at = event.submitted_at.isoformat()
        if not pr.get("first_review_at"):
            pr["first_review_at"], pr["first_review_id"] = at, event.meta.id
        pr["last_review_at"], pr["last_review_id"] = at, event.meta.id
        if event.state == ReviewState.APPROVED:
            pr["approved_at"], pr["approved_id"] = at, event.meta.id
    return pr


@app.agent(code)
async def cycle_time(stream: Any) -> None:
    """PR cycle time: state per pull request (the input's key), a summary on merge."""
    async for ev in stream.events():
        event = ev.value
        if not hasattr(event, "number") or not hasattr(event, "repo"):
            continue  # not a pull request event (an Undecodable is dead-lettered by regroup_code)
        try:
            await _cycle_step(event)
        except Exception as exc:
            await _dead_letter(ev, exc)


async def _cycle_step(event: Any) -> None:
    key = _pr_key(event)
    if isinstance(event, PullRequestMerged):
        pr = pr_cycle.get(key)
        if pr is not None and "opened_at" in pr:
            await out.send(key=f"pr:{key}".encode(), value=_cycle_summary(key, pr, event))
            pr_cycle.pop(key, None)
    else:
        new = _on_pr_event(pr_cycle.get(key), event)
        if new is not None:
            pr_cycle[key] = new


def _cycle_summary(key: str, pr: dict[str, Any], merged: PullRequestMerged) -> ActivitySummary:
    times = cycle_times(pr, merged.merged_at)
    ids = [pr.get(f) for f in ("opened_id", "first_review_id", "approved_id", "last_review_id")]
    based = tuple(dict.fromkeys([i for i in ids if i] + [merged.meta.id]))
    meta = new_meta(ActivitySummary, source=SOURCE, subject=f"pr:{key}",
                    correlation_id=merged.meta.correlation_id, causation_id=merged.meta.id)
    h = {k: v / 3600 for k, v in times.items()}
    return ActivitySummary(
        meta=dataclasses.replace(meta, id=summary_id(
            S.app_id, {"entity": f"pr:{key}", "start": pr["opened_at"], "seen": list(based)})),
        based_on=based,
        entity=f"pr:{key}",
        period_start=datetime.fromisoformat(pr["opened_at"]),
        period_end=merged.merged_at,
        counts=times,
        summary=f"{key} merged after {h['cycle_seconds']:.1f} h: pickup "
        f"{h['pickup_seconds']:.1f} h, review {h['review_seconds']:.1f} h, merge "
        f"{h['merge_seconds']:.1f} h.",
        team=S.team,
        person=merged.author_person or merged.author,
        entities=(f"pr:{key}", f"repo:{merged.repo}"),
    )


async def _flush(table: Any, kind: str) -> int:
    now = time.time()
    due = datetime.now(UTC) - S.grace
    n = 0
    for key, state in list(table.items()):
        if state is None or datetime.fromisoformat(state["end"]) > due:
            continue
        if now - state.get("touched", 0) < S.idle.total_seconds():
            continue
        sid = summary_id(S.app_id, state)
        if _published.get(key) == sid:
            continue
        await out.send(key=state["entity"].encode(), value=_summary(state, kind=kind))
        _published[key] = sid
        n += 1
    return n


@app.timer(interval=S.flush_interval.total_seconds())  # type: ignore[untyped-decorator]
async def flush_windows() -> None:
    """Publish the summaries of finished windows (and revisions of windows that changed)."""
    n = await _flush(repo_day, "repo") + await _flush(channel_hour, "channel")
    if n:
        log.info("published %d window summaries (%d repository-day and %d channel-hour "
                 "windows held)", n, len(repo_day), len(channel_hour))


def _types(namespace: str) -> tuple[str, ...]:
    return tuple(sorted(n for n in RECORDS if n.rsplit(".", 1)[0] == namespace))


def descriptor() -> AgentDescriptor:
    """This worker's published interface (what `agentstream agents` shows)."""
    return AgentDescriptor(
        name=S.app_id,
        version=VERSION,
        consumes=(Subscription(topic=S.code_topic, types=_types("agentstream.events.code")),
                  Subscription(topic=S.chat_topic, types=_types("agentstream.events.chat"))),
        emits=(Subscription(topic=S.activity_topic, types=(ActivitySummary.FULLNAME,)),),
        instance=INSTANCE,
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=datetime.now(UTC),
        description="Faust app: repository-day and channel-hour activity windows, PR cycle "
        "time (pickup, review, merge).",
    )


@app.task  # type: ignore[untyped-decorator]
async def announce() -> None:
    """Publish the descriptor once the worker runs (the group membership makes it live)."""
    await asyncio.to_thread(publish_descriptor, _announcer, _SERDE, KAFKA,
                            descriptor())


def _provision() -> None:
    """Create the repartition and table topics before the worker subscribes: a topic Faust
    creates itself at start may be missing from the first metadata, and Faust then ignores it
    for the whole run ("Ignoring missing topic")."""
    admin = make_admin(KAFKA.client_config())
    for name in (by_repo_name, by_channel_name):
        ensure_topic(admin, name, partitions=S.partitions,
                     config={"retention.ms": str(7 * 86_400_000)})
    ensure_topic(admin, DLQ, partitions=1)
    ensure_agents_topic(admin, KAFKA)  # the descriptor's topic, as an agent runner ensures it
    for table in ("repo-day", "channel-hour", "pr-cycle"):
        ensure_topic(admin, f"{S.app_id}-{table}-changelog", partitions=S.partitions,
                     config={"cleanup.policy": "compact"})


def main() -> None:
    """Run one worker of the app until SIGTERM/SIGINT; withdraw its descriptor on the way out."""
    S.state_dir.mkdir(parents=True, exist_ok=True)
    _provision()
    worker = faust.Worker(app, loglevel="INFO", redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        try:
            withdraw_descriptor(_announcer, KAFKA, S.app_id, INSTANCE)
        except Exception as exc:  # the broker may be gone already; the entry then shows stale
            log.warning("could not withdraw the descriptor: %s", exc)
