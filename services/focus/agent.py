"""focus: calendars and activity in; meeting load, deep-work time and after-hours work out.

Per person and ISO week (in the team's time zone): meeting hours (overlaps once) and deep-work
blocks (free stretches of at least ``DEEP_WORK_MIN`` inside working hours) → ``RiskDetected``
``meeting-overload`` / ``low-focus-time`` once per person-week, and an ``ActivitySummary``
(``person:<id>``). Per team and week: events outside working hours and on weekends →
``RiskDetected`` ``after-hours-work`` (team level, naming nobody) and an ``ActivitySummary``
(``team:<name>``).

Summaries are debounced with durable timers: every change re-arms the week's timer
(``SUMMARY_DELAY``), so one summary with the settled numbers is published per quiet period,
even across restarts. State is kept on changelog partition 0 (people and the team are not the
input's keys); durable timers need one process of this agent anyway.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from agentstream.events import (
    ActivitySummary,
    AttendeeResponse,
    CommentAdded,
    MeetingCancelled,
    MeetingScheduled,
    MeetingUpdated,
    MessagePosted,
    PullRequestMerged,
    PullRequestOpened,
    ReactionAdded,
    ReviewRequested,
    ReviewSubmitted,
    RiskDetected,
    RiskSeverity,
)
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context
from services.focus.calc import Week, deep_work, meeting_minutes, off_hours, week_meetings, week_of
from services.focus.settings import FocusSettings

__all__ = ["agent", "settings"]

HOME = 0
settings = FocusSettings()
S = settings

agent = Agent(
    S.agent_name,
    version="0.1.0",
    emits_to={S.risks_topic: [RiskDetected], S.activity_topic: [ActivitySummary]},
    stores=[StoreSpec("people"), StoreSpec("team")],
    timers=True,
    description="Meeting hours and deep-work blocks per person per week; after-hours and "
    "weekend work at team level.",
)

State = dict[str, Any]
# Handlers of different input partitions run concurrently and change the same entries (people,
# the team) across awaits (emit, schedule): one at a time, so no update is lost.
_LOCK = asyncio.Lock()


def _load(ctx: Context, store: str, key: str) -> State:
    found = ctx.stores.store(store).get(key, partition=HOME)
    return dict(found) if found is not None else {"reported": {}, "timers": {}}


def _save(ctx: Context, store: str, key: str, state: State) -> None:
    ctx.stores.store(store).put(key, state, HOME)


def _reported(state: State, week: str, kind: str) -> bool:
    """Whether ``kind`` was reported for ``week``; marks it reported."""
    done = state["reported"].setdefault(week, [])
    if kind in done:
        return True
    done.append(kind)
    return False


def _prune(state: State, weeks: list[str]) -> None:
    keep = set(sorted(weeks)[-S.weeks_kept:])
    for field in ("reported", "timers", "weeks"):
        if field in state:
            state[field] = {w: v for w, v in state[field].items() if w in keep}


async def _summarise(ctx: Context, state: State, week: Week, summary: ActivitySummary) -> None:
    """(Re-)arm the week's summary timer: it publishes once nothing changed for a while."""
    old = state["timers"].pop(week.key, None)
    if old is not None:
        await ctx.cancel_timer(old)
    state["timers"][week.key] = await ctx.schedule(
        summary, topic=S.activity_topic, after=S.summary_delay
    )


def _risk(ctx: Context, *, kind: str, subject: str, title: str, summary: str,
          based_on: list[str], person: str | None, entities: tuple[str, ...],
          recommendation: str) -> RiskDetected:
    return RiskDetected(
        meta=ctx.meta(RiskDetected, subject=subject), based_on=tuple(based_on[:S.evidence_limit]),
        kind=kind, severity=RiskSeverity.MEDIUM, title=title, summary=summary,
        recommendation=recommendation, confidence=0.8, team=S.team, person=person,
        entities=entities,
    )


# -- people: meetings ---------------------------------------------------------------------------

async def _person_week(ctx: Context, pid: str, state: State, week: Week) -> None:
    ms = week_meetings(state["meetings"], week)
    minutes = meeting_minutes(ms.values())
    blocks, deep_minutes = deep_work(ms.values(), week, S)
    ids = [m["id"] for m in sorted(ms.values(), key=lambda m: m["start"])]
    entities = (f"person:{pid}", f"team:{S.team}")
    if minutes / 60 > S.max_meeting_hours and not _reported(state, week.key, "meeting-overload"):
        await ctx.emit(_risk(
            ctx, kind="meeting-overload", subject=f"person:{pid}",
            title=f"{pid} has {minutes / 60:.1f} h of meetings in {week.key}",
            summary=f"{len(ms)} meetings take {minutes / 60:.1f} h (limit "
            f"{S.max_meeting_hours:g} h); {blocks} deep-work blocks of "
            f"{S.deep_work_min.total_seconds() / 3600:g} h or more are left.",
            based_on=ids, person=pid, entities=entities,
            recommendation="Decline or shorten recurring meetings; protect focus blocks.",
        ), topic=S.risks_topic)
    if ms and blocks < S.min_deep_work_blocks and not _reported(state, week.key, "low-focus-time"):
        await ctx.emit(_risk(
            ctx, kind="low-focus-time", subject=f"person:{pid}",
            title=f"{pid} has {blocks} deep-work blocks in {week.key}",
            summary=f"Between {len(ms)} meetings only {blocks} free stretches of "
            f"{S.deep_work_min.total_seconds() / 3600:g} h or more remain in working hours "
            f"(at least {S.min_deep_work_blocks} wanted).",
            based_on=ids, person=pid, entities=entities,
            recommendation="Group meetings into one half of the day.",
        ), topic=S.risks_topic)
    summary = ActivitySummary(
        meta=ctx.meta(ActivitySummary, subject=f"person:{pid}"), based_on=tuple(ids),
        entity=f"person:{pid}", period_start=week.start, period_end=week.end,
        counts={"meetings": len(ms), "meeting_minutes": minutes, "deep_work_blocks": blocks,
                "deep_work_minutes": deep_minutes},
        summary=f"{pid}, week {week.key}: {len(ms)} meetings, {minutes / 60:.1f} h; "
        f"{blocks} deep-work blocks ({deep_minutes / 60:.1f} h).",
        team=S.team, person=pid, entities=entities,
    )
    await _summarise(ctx, state, week, summary)


async def _meeting(ctx: Context, e: Any, *, cancelled: bool) -> None:
    async with _LOCK:
        await _meeting_locked(ctx, e, cancelled=cancelled)


async def _meeting_locked(ctx: Context, e: Any, *, cancelled: bool) -> None:
    key = e.uid if e.occurrence is None else f"{e.uid}@{e.occurrence.isoformat()}"
    start: datetime | None = e.start
    for a in e.attendees:
        pid = a.person or a.email
        state = _load(ctx, "people", pid)
        meetings = state.setdefault("meetings", {})
        old = meetings.pop(key, None)
        if not cancelled and a.response != AttendeeResponse.DECLINED:
            meetings[key] = {"start": e.start.isoformat(), "end": e.end.isoformat(),
                             "id": e.meta.id, "title": e.title}
        weeks = {week_of(start, S).key} if start is not None else set()
        if old is not None:
            weeks.add(week_of(datetime.fromisoformat(old["start"]), S).key)
        for w in sorted(weeks):
            await _person_week(ctx, pid, state, Week.from_key(w, S))
        # Only the latest WEEKS_KEPT weeks of meetings (and their flags) are kept.
        week_by = {k: week_of(datetime.fromisoformat(m["start"]), S).key
                   for k, m in meetings.items()}
        keep = set(sorted(set(week_by.values()) | weeks)[-S.weeks_kept:])
        state["meetings"] = {k: m for k, m in meetings.items() if week_by[k] in keep}
        _prune(state, sorted(keep))
        _save(ctx, "people", pid, state)


@agent.handler(MeetingScheduled, topic=S.calendar_topic)
async def on_meeting_scheduled(e: MeetingScheduled, ctx: Context) -> None:
    await _meeting(ctx, e, cancelled=False)


@agent.handler(MeetingUpdated, topic=S.calendar_topic)
async def on_meeting_updated(e: MeetingUpdated, ctx: Context) -> None:
    await _meeting(ctx, e, cancelled=False)


@agent.handler(MeetingCancelled, topic=S.calendar_topic)
async def on_meeting_cancelled(e: MeetingCancelled, ctx: Context) -> None:
    await _meeting(ctx, e, cancelled=True)


# -- the team: activity outside working hours ---------------------------------------------------

async def _activity(ctx: Context, who: str | None, when: datetime) -> None:
    if who is None:
        return
    async with _LOCK:
        await _activity_locked(ctx, who, when)


async def _activity_locked(ctx: Context, who: str, when: datetime) -> None:
    team = _load(ctx, "team", S.team)
    week = week_of(when, S)
    w = team.setdefault("weeks", {}).setdefault(
        week.key, {"events": 0, "after_hours": 0, "weekend": 0, "evidence": [], "people": []}
    )
    w["events"] += 1
    kind = off_hours(when, S)
    if kind is not None:
        w[kind] += 1
        if len(w["evidence"]) < S.evidence_limit:
            w["evidence"].append(ctx.event.meta.id)
        if who not in w["people"]:
            w["people"].append(who)
    off = w["after_hours"] + w["weekend"]
    share = off / w["events"]
    entities = (f"team:{S.team}",)
    if (off >= S.after_hours_min_events and share >= S.after_hours_share
            and not _reported(team, week.key, "after-hours-work")):
        await ctx.emit(_risk(
            ctx, kind="after-hours-work", subject=f"team:{S.team}",
            title=f"{share:.0%} of the team's activity in {week.key} is outside working hours",
            summary=f"{w['after_hours']} events after hours and {w['weekend']} on weekends, "
            f"of {w['events']}, by {len(w['people'])} people (working hours "
            f"{S.workday_start:%H:%M}-{S.workday_end:%H:%M} {S.timezone}).",
            based_on=list(w["evidence"]), person=None, entities=entities,
            recommendation="Talk about workload and deadlines in the next retro.",
        ), topic=S.risks_topic)
    summary = ActivitySummary(
        meta=ctx.meta(ActivitySummary, subject=f"team:{S.team}"),
        based_on=tuple(w["evidence"]), entity=f"team:{S.team}",
        period_start=week.start, period_end=week.end,
        counts={"events": w["events"], "after_hours_events": w["after_hours"],
                "weekend_events": w["weekend"], "people_off_hours": len(w["people"])},
        summary=f"Team {S.team}, week {week.key}: {w['events']} events, {w['after_hours']} "
        f"after hours and {w['weekend']} on weekends ({share:.0%}).",
        team=S.team, entities=entities,
    )
    await _summarise(ctx, team, week, summary)
    _prune(team, list(team["weeks"]))
    _save(ctx, "team", S.team, team)


@agent.handler(PullRequestOpened, topic=S.code_topic)
async def on_pr(e: PullRequestOpened, ctx: Context) -> None:
    await _activity(ctx, e.author_person or e.author, e.created_at)


@agent.handler(ReviewRequested, topic=S.code_topic)
async def on_review_requested(e: ReviewRequested, ctx: Context) -> None:
    await _activity(ctx, e.requested_by_person or e.requested_by, e.requested_at or e.meta.time)


@agent.handler(ReviewSubmitted, topic=S.code_topic)
async def on_review(e: ReviewSubmitted, ctx: Context) -> None:
    await _activity(ctx, e.reviewer_person or e.reviewer, e.submitted_at)


@agent.handler(CommentAdded, topic=S.code_topic)
async def on_comment(e: CommentAdded, ctx: Context) -> None:
    await _activity(ctx, e.author_person or e.author, e.created_at)


@agent.handler(PullRequestMerged, topic=S.code_topic)
async def on_merge(e: PullRequestMerged, ctx: Context) -> None:
    await _activity(ctx, e.merged_by_person or e.merged_by, e.merged_at)


@agent.handler(MessagePosted, topic=S.chat_topic)
async def on_message(e: MessagePosted, ctx: Context) -> None:
    if not e.is_bot:
        await _activity(ctx, e.user_person or e.user, e.posted_at)


@agent.handler(ReactionAdded, topic=S.chat_topic)
async def on_reaction(e: ReactionAdded, ctx: Context) -> None:
    await _activity(ctx, e.user_person or e.user, e.reacted_at)
