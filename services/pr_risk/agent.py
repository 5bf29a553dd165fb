"""pr-risk: pull request activity in, ``RiskDetected`` with evidence ids out.

Rules (thresholds in ``PrRiskSettings``): a pull request waiting for its first review longer
than the team's agreement (a durable timer per pull request, cancelled by the first review),
overloaded reviewers and an imbalanced review load, failing builds on open pull requests (or on
a branch), very large pull requests.

State lives in two memory stores: ``prs`` (one entry per pull request) and ``team`` (what was
reported about the review load). Every entry is kept on the changelog's partition 0 (the "home"
partition): a build event is keyed by repository and a review load spans every pull request,
so they would otherwise sit on other partitions than the entries they change. Durable timers
already require one process of this agent; the home partition makes that process own all state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agentstream.events import (
    BuildFailed,
    BuildRecovered,
    PullRequestClosed,
    PullRequestConvertedToDraft,
    PullRequestMerged,
    PullRequestOpened,
    PullRequestReadyForReview,
    ReviewRequested,
    ReviewRequestRemoved,
    ReviewSubmitted,
    RiskDetected,
    RiskSeverity,
)
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context
from services.pr_risk.rules import (
    Risk,
    build_failed,
    large_pr,
    pending_load,
    pr_key,
    review_load,
    stale_review,
    waited,
)
from services.pr_risk.settings import PrRiskSettings

__all__ = ["agent", "settings"]

HOME = 0
settings = PrRiskSettings()
TOPIC = settings.code_topic
OUT = settings.risks_topic
TEAM = settings.team or "team"

agent = Agent(
    settings.agent_name,
    version="0.2.0",
    emits_to={OUT: [RiskDetected]},
    stores=[StoreSpec("prs"), StoreSpec("team")],
    timers=True,
    description="Stale reviews, reviewer overload and imbalance, failing builds and large pull "
    "requests, each citing the events it rests on.",
)


# Handlers of different input partitions run concurrently and change shared entries (a build
# event changes pull requests, the load spans all) across awaits: one at a time, so no update
# is lost. One process of this agent runs (durable timers), so a process-wide lock suffices.
_LOCK = asyncio.Lock()
_E = Any


def _serialised(fn: Callable[[_E, Context], Awaitable[None]]
                ) -> Callable[[_E, Context], Awaitable[None]]:
    async def run(event: _E, ctx: Context) -> None:
        async with _LOCK:
            await fn(event, ctx)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _to_event(ctx: Context, r: Risk) -> RiskDetected:
    return RiskDetected(
        meta=ctx.meta(RiskDetected, subject=r.subject),
        based_on=r.based_on,
        kind=r.kind,
        severity=RiskSeverity(r.severity),
        title=r.title,
        summary=r.summary,
        recommendation=r.recommendation,
        confidence=r.confidence,
        team=settings.team,
        person=r.person,
        entities=r.entities,
    )


async def _emit(ctx: Context, risks: list[Risk]) -> None:
    for r in risks:
        await ctx.emit(_to_event(ctx, r), topic=OUT)


def _prs(ctx: Context) -> Any:
    return ctx.stores.store("prs")


def _get(ctx: Context, key: str) -> dict[str, Any] | None:
    value = _prs(ctx).get(key, partition=HOME)
    return None if value is None else dict(value)


def _put(ctx: Context, key: str, pr: dict[str, Any]) -> None:
    _prs(ctx).put(key, pr, HOME)


async def _check_load(ctx: Context) -> None:
    team = ctx.stores.store("team")
    flags = team.get("load", partition=HOME) or {}
    load = pending_load(v for _, v in _prs(ctx).items(partition=HOME))
    risks, new_flags = review_load(load, flags, settings, team=TEAM)
    if new_flags != flags:
        team.put("load", new_flags, HOME)
    await _emit(ctx, risks)


def _due(opened_at: datetime) -> datetime:
    due = opened_at + settings.first_review_within
    return max(due, datetime.now(UTC) + settings.replay_grace)


async def _arm(ctx: Context, pr: dict[str, Any]) -> None:
    """Schedule the stale-review risk for when the agreement runs out."""
    risk = stale_review(pr, settings.first_review_within, settings)
    opened = datetime.fromisoformat(pr["opened_at"])
    pr["timer"] = await ctx.schedule(_to_event(ctx, risk), topic=OUT, at=_due(opened))


@agent.handler(PullRequestOpened, topic=TOPIC)
@_serialised
async def on_opened(event: PullRequestOpened, ctx: Context) -> None:
    key = pr_key(event.repo, event.number)
    pr = _get(ctx, key) or {"requested": {}, "failing": {}}
    if pr.get("opened_id") not in (None, event.meta.id):
        pr["failing"] = {}  # opened again (reopened): its failing streaks start over
    pr.update(
        repo=event.repo, number=event.number, title=event.title, author=event.author,
        url=event.url, head=event.head_branch, opened_at=event.created_at.isoformat(),
        person=event.author_person or event.author,
        opened_id=event.meta.id, draft=event.draft, state="open",
        lines=(event.additions or 0) + (event.deletions or 0), files=event.changed_files or 0,
    )
    if not event.draft and not pr.get("first_review_id") and not pr.get("timer"):
        await _arm(ctx, pr)
    _put(ctx, key, pr)
    big = large_pr(pr, settings)
    if big is not None:
        await _emit(ctx, [big])


@agent.handler(ReviewRequested, topic=TOPIC)
@_serialised
async def on_review_requested(event: ReviewRequested, ctx: Context) -> None:
    reviewer = event.reviewer_person or event.reviewer or (
        f"team:{event.team}" if event.team else None)
    if reviewer is None:
        return
    key = pr_key(event.repo, event.number)
    pr = _get(ctx, key) or {"repo": event.repo, "number": event.number, "requested": {},
                            "failing": {}, "state": "open"}
    pr.setdefault("requested", {})[reviewer] = event.meta.id
    _put(ctx, key, pr)
    await _check_load(ctx)


@agent.handler(PullRequestReadyForReview, topic=TOPIC)
@_serialised
async def on_ready(event: PullRequestReadyForReview, ctx: Context) -> None:
    key = pr_key(event.repo, event.number)
    pr = _get(ctx, key)
    if pr is None or "opened_id" not in pr:
        return
    pr["draft"] = False
    # The agreement runs from when the pull request asked for review.
    pr["opened_at"] = event.ready_at.isoformat()
    if not pr.get("first_review_id") and not pr.get("timer"):
        await _arm(ctx, pr)
    _put(ctx, key, pr)


@agent.handler(PullRequestConvertedToDraft, topic=TOPIC)
@_serialised
async def on_draft(event: PullRequestConvertedToDraft, ctx: Context) -> None:
    key = pr_key(event.repo, event.number)
    pr = _get(ctx, key)
    if pr is None:
        return
    pr["draft"] = True
    timer = pr.pop("timer", None)
    if timer is not None:
        await ctx.cancel_timer(timer)
    _put(ctx, key, pr)


@agent.handler(ReviewRequestRemoved, topic=TOPIC)
@_serialised
async def on_review_request_removed(event: ReviewRequestRemoved, ctx: Context) -> None:
    reviewer = event.reviewer_person or event.reviewer or (
        f"team:{event.team}" if event.team else None)
    key = pr_key(event.repo, event.number)
    pr = _get(ctx, key)
    if pr is None or reviewer is None:
        return
    pr.get("requested", {}).pop(reviewer, None)
    _put(ctx, key, pr)
    await _check_load(ctx)


@agent.handler(ReviewSubmitted, topic=TOPIC)
@_serialised
async def on_review_submitted(event: ReviewSubmitted, ctx: Context) -> None:
    key = pr_key(event.repo, event.number)
    pr = _get(ctx, key)
    if pr is None:
        return
    reviewer = event.reviewer_person or event.reviewer
    if reviewer in (pr.get("author"), pr.get("person")):
        return  # an author's reply to comments is not a review
    pr.get("requested", {}).pop(reviewer, None)
    first = not pr.get("first_review_id")
    if first:
        pr["first_review_id"] = event.meta.id
        timer = pr.pop("timer", None)
        # Still pending: the first review beat the timer (in wall-clock time). If it came late
        # in event time (a replay, or the service was down), report that now, once.
        pending = timer is not None and await ctx.cancel_timer(timer)
        if pending and "opened_at" in pr:
            wait = waited(pr["opened_at"], event.submitted_at)
            if wait > settings.first_review_within:
                await _emit(ctx, [stale_review(pr, wait, settings, late_by=reviewer)])
    _put(ctx, key, pr)
    await _check_load(ctx)


async def _closed(ctx: Context, repo: str, number: int) -> None:
    key = pr_key(repo, number)
    pr = _get(ctx, key)
    if pr is None:
        return
    timer = pr.get("timer")
    if timer is not None:
        await ctx.cancel_timer(timer)
    _prs(ctx).delete(key, HOME)
    await _check_load(ctx)


@agent.handler(PullRequestMerged, topic=TOPIC)
@_serialised
async def on_merged(event: PullRequestMerged, ctx: Context) -> None:
    await _closed(ctx, event.repo, event.number)


@agent.handler(PullRequestClosed, topic=TOPIC)
@_serialised
async def on_closed(event: PullRequestClosed, ctx: Context) -> None:
    await _closed(ctx, event.repo, event.number)


@agent.handler(BuildFailed, topic=TOPIC)
@_serialised
async def on_build_failed(event: BuildFailed, ctx: Context) -> None:
    prs = [p for n in event.pull_requests if (p := _get(ctx, pr_key(event.repo, n)))]
    if not prs and event.branch:
        prs = [p for _, p in _prs(ctx).items(partition=HOME)
               if p.get("repo") == event.repo and p.get("head") == event.branch
               and p.get("state") == "open" and "opened_id" in p]
    prs = [p for p in prs if "opened_id" in p]
    streaked = []
    for p in prs:
        changed = dict(p)
        failing = changed.setdefault("failing", {})
        runs = failing.get(event.workflow)
        runs = list(runs) if isinstance(runs, list) else []
        if event.meta.id not in runs:
            runs.append(event.meta.id)
        failing[event.workflow] = runs
        _put(ctx, pr_key(p["repo"], p["number"]), changed)
        streaked.append(changed)
    prs = streaked
    await _emit(ctx, build_failed(
        event.meta.id, repo=event.repo, workflow=event.workflow, branch=event.branch,
        conclusion=event.conclusion, prs=prs, s=settings,
    ))




@agent.handler(BuildRecovered, topic=TOPIC)
@_serialised
async def on_build_recovered(event: BuildRecovered, ctx: Context) -> None:
    for n in event.pull_requests:
        key = pr_key(event.repo, n)
        pr = _get(ctx, key)
        if pr is not None and pr.get("failing", {}).pop(event.workflow, None) is not None:
            _put(ctx, key, pr)
