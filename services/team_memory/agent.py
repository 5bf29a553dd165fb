"""team-memory: profiles of people, repositories and the team, and a bi-temporal team graph.

Folds code, chat and calendar events into four memory stores — ``people``, ``repos``,
``teams`` (JSON profiles: open pull requests, pending reviews, recent activity, meetings,
channels) and ``graph`` (facts with valid and record time: person reviews person, works on a
repository, is in a channel, attends a meeting) — so any process can ask "who reviews whom",
"what is alice waiting on" or "who was in #payments on Monday, as we knew it on Tuesday" through
``agentstream memory get``, ``GET /memory/<store>/<key>`` on the ops port, or
``agentstream.memory.read_key``. Key formats: ``services/team_memory/profiles.py``.

Entities are keyed by person, repository or team, while events are keyed by pull request,
channel or meeting: every entry is kept on changelog partition 0 (the "home" partition). Run
one process of this agent; a second one, not owning partition 0, fails its handlers with
``StoreNotReadyError`` (and dead-letters them) instead of splitting a profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from agentstream.events import (
    Attendee,
    AttendeeResponse,
    BuildFailed,
    BuildRecovered,
    CommentAdded,
    MeetingCancelled,
    MeetingScheduled,
    MeetingUpdated,
    MemberJoinedChannel,
    MemberLeftChannel,
    MessagePosted,
    PullRequestClosed,
    PullRequestMerged,
    PullRequestOpened,
    ReactionAdded,
    ReviewRequested,
    ReviewRequestRemoved,
    ReviewSubmitted,
)
from agentstream.memory import FactStoreSpec, StoreSpec
from agentstream.runtime import Agent, Context
from services.team_memory.profiles import (
    add_recent,
    edge_key,
    new_person,
    new_repo,
    new_team,
    remember,
)
from services.team_memory.settings import TeamMemorySettings

__all__ = ["agent", "settings"]

HOME = 0
settings = TeamMemorySettings()
CODE, CHAT, CAL = settings.code_topic, settings.chat_topic, settings.calendar_topic

agent = Agent(
    settings.agent_name,
    version="0.1.0",
    stores=[StoreSpec("people"), StoreSpec("repos"), StoreSpec("teams"),
            FactStoreSpec("graph")],
    description="Profiles of people, repositories and the team, and the team graph as "
    "bi-temporal facts, folded from code, chat and calendar events.",
)

Profile = dict[str, Any]
_NEW: dict[str, Callable[[str], Profile]] = {
    "people": new_person, "repos": new_repo, "teams": new_team
}


def _who(handle: str | None, person: str | None) -> str | None:
    return person or handle


class _Memory:
    """The stores as one handler changes them: read, change, write back once.

    Handlers of different input partitions run concurrently and share entries (a person, the
    team); no handler awaits between its first read and ``save``, so each read-change-write runs
    in one stretch of the event loop and no update is lost (pr-risk and focus, which must await
    in between, take a lock instead).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.event: Any = ctx.event
        self._dirty: dict[tuple[str, str], Profile] = {}

    def profile(self, store: str, key: str) -> Profile:
        k = (store, key)
        if k not in self._dirty:
            found = self.ctx.stores.store(store).get(key, partition=HOME)
            self._dirty[k] = dict(found) if found is not None else _NEW[store](key)
        return self._dirty[k]

    def person(self, pid: str, *, handle: str | None = None) -> Profile:
        p = self.profile("people", pid)
        if handle:
            p["handles"] = remember(p.get("handles", []), handle)
        team = self.profile("teams", settings.team)
        team["people"] = remember(team["people"], pid)
        return p

    def repo(self, repo: str) -> Profile:
        r = self.profile("repos", repo)
        team = self.profile("teams", settings.team)
        team["repos"] = remember(team["repos"], repo)
        return r

    def recent(self, profiles: Iterable[Profile], when: datetime, what: str,
               entity: str) -> None:
        entry = {"type": type(self.event).__name__, "id": self.event.meta.id,
                 "time": when.isoformat(), "what": what, "entity": entity}
        for p in profiles:
            add_recent(p, entry, settings.recent_limit)

    def relate(self, relation: str, a: str, b: str, when: datetime, *,
               until: datetime | None = None) -> None:
        """Assert the relation from ``when`` (once: an already valid fact is left alone, unless
        ``until`` — a meeting's end — says the interval itself changed)."""
        facts = self.ctx.stores.facts("graph")
        key = edge_key(relation, a, b)
        now = facts.as_of(key, when, partition=HOME)
        if now is not None and (until is None or now.valid_to == until):
            return
        value = {"relation": relation, "from": a, "to": b, "evidence": self.event.meta.id}
        facts.assert_fact(key, value, when, HOME, valid_to=until)

    def unrelate(self, relation: str, a: str, b: str, when: datetime) -> None:
        facts = self.ctx.stores.facts("graph")
        key = edge_key(relation, a, b)
        if facts.as_of(key, when, partition=HOME) is not None:
            facts.retract(key, when, HOME)

    def save(self) -> None:
        for (store, key), value in self._dirty.items():
            self.ctx.stores.store(store).put(key, value, HOME)


def _pr(repo: str, number: int) -> str:
    return f"{repo}#{number}"


# -- code ---------------------------------------------------------------------------------------

@agent.handler(PullRequestOpened, topic=CODE)
async def on_pr_opened(e: PullRequestOpened, ctx: Context) -> None:
    m, key = _Memory(ctx), _pr(e.repo, e.number)
    author = _who(e.author, e.author_person) or e.author
    pr = {"title": e.title, "url": e.url, "repo": e.repo, "author": author,
          "opened_id": e.meta.id, "opened_at": e.created_at.isoformat(), "draft": e.draft,
          "requested": {}}
    person, repo = m.person(author, handle=e.author), m.repo(e.repo)
    person["open_prs"][key] = {k: pr[k] for k in ("title", "repo", "opened_id", "opened_at")}
    repo["open_prs"][key] = pr
    repo["contributors"] = remember(repo["contributors"], author)
    person["repos"] = remember(person["repos"], e.repo)
    m.profile("teams", settings.team)["open_prs"] = _count_open(m)
    m.recent([person, repo], e.created_at, f"opened {key}: {e.title}", f"pr:{key}")
    m.relate("works_on", author, e.repo, e.created_at)
    m.save()


def _count_open(m: _Memory) -> int:
    team = m.profile("teams", settings.team)
    return sum(len(m.profile("repos", r)["open_prs"]) for r in team["repos"])


def _finish_pr(m: _Memory, repo: str, number: int, when: datetime, *, what: str,
               actor: str | None) -> None:
    key = _pr(repo, number)
    r = m.repo(repo)
    pr = r["open_prs"].pop(key, None) or {}
    author = pr.get("author")
    touched = [r]
    if author:
        a = m.person(author)
        a["open_prs"].pop(key, None)
        touched.append(a)
    for reviewer in pr.get("requested", {}):
        m.person(reviewer)["pending_reviews"].pop(key, None)
    if actor:
        touched.append(m.person(actor))
    m.profile("teams", settings.team)["open_prs"] = _count_open(m)
    m.recent(touched, when, f"{what} {key}", f"pr:{key}")
    m.save()


@agent.handler(PullRequestMerged, topic=CODE)
async def on_pr_merged(e: PullRequestMerged, ctx: Context) -> None:
    _finish_pr(_Memory(ctx), e.repo, e.number, e.merged_at, what="merged",
               actor=_who(e.merged_by, e.merged_by_person))


@agent.handler(PullRequestClosed, topic=CODE)
async def on_pr_closed(e: PullRequestClosed, ctx: Context) -> None:
    _finish_pr(_Memory(ctx), e.repo, e.number, e.closed_at, what="closed",
               actor=_who(e.closed_by, e.closed_by_person))


@agent.handler(ReviewRequested, topic=CODE)
async def on_review_requested(e: ReviewRequested, ctx: Context) -> None:
    reviewer = _who(e.reviewer, e.reviewer_person)
    if reviewer is None:
        return
    m, key = _Memory(ctx), _pr(e.repo, e.number)
    r = m.repo(e.repo)
    if key in r["open_prs"]:
        r["open_prs"][key]["requested"][reviewer] = e.meta.id
    p = m.person(reviewer, handle=e.reviewer)
    p["pending_reviews"][key] = e.meta.id
    m.recent([p], e.requested_at or e.meta.time, f"asked to review {key}", f"pr:{key}")
    m.save()


@agent.handler(ReviewRequestRemoved, topic=CODE)
async def on_review_request_removed(e: ReviewRequestRemoved, ctx: Context) -> None:
    reviewer = _who(e.reviewer, e.reviewer_person)
    if reviewer is None:
        return
    m, key = _Memory(ctx), _pr(e.repo, e.number)
    m.person(reviewer)["pending_reviews"].pop(key, None)
    pr = m.repo(e.repo)["open_prs"].get(key)
    if pr is not None:
        pr["requested"].pop(reviewer, None)
    m.save()


@agent.handler(ReviewSubmitted, topic=CODE)
async def on_review_submitted(e: ReviewSubmitted, ctx: Context) -> None:
    m, key = _Memory(ctx), _pr(e.repo, e.number)
    reviewer = _who(e.reviewer, e.reviewer_person) or e.reviewer
    r, p = m.repo(e.repo), m.person(reviewer, handle=e.reviewer)
    p["pending_reviews"].pop(key, None)
    p["reviews_given"] = p.get("reviews_given", 0) + 1
    pr = r["open_prs"].get(key)
    author = pr.get("author") if pr else None
    if pr is not None:
        pr["requested"].pop(reviewer, None)
        pr.setdefault("reviews", {})[reviewer] = str(e.state)
    m.recent([p, r], e.submitted_at, f"reviewed {key} ({e.state})", f"pr:{key}")
    m.relate("works_on", reviewer, e.repo, e.submitted_at)
    if author and author != reviewer:
        m.relate("reviews", reviewer, author, e.submitted_at)
    m.save()


@agent.handler(CommentAdded, topic=CODE)
async def on_comment(e: CommentAdded, ctx: Context) -> None:
    m = _Memory(ctx)
    who = _who(e.author, e.author_person) or e.author
    p, r = m.person(who, handle=e.author), m.repo(e.repo)
    m.recent([p, r], e.created_at, f"commented on {_pr(e.repo, e.number)}",
             f"pr:{_pr(e.repo, e.number)}")
    m.save()


@agent.handler(BuildFailed, topic=CODE)
async def on_build_failed(e: BuildFailed, ctx: Context) -> None:
    m = _Memory(ctx)
    r = m.repo(e.repo)
    r["failing"][e.workflow] = {"id": e.meta.id, "branch": e.branch,
                                "pull_requests": list(e.pull_requests)}
    m.recent([r], e.failed_at, f"{e.workflow} failed on {e.branch}", f"repo:{e.repo}")
    m.save()


@agent.handler(BuildRecovered, topic=CODE)
async def on_build_recovered(e: BuildRecovered, ctx: Context) -> None:
    m = _Memory(ctx)
    r = m.repo(e.repo)
    r["failing"].pop(e.workflow, None)
    m.recent([r], e.recovered_at, f"{e.workflow} passes again on {e.branch}", f"repo:{e.repo}")
    m.save()


# -- chat ---------------------------------------------------------------------------------------

def _in_channel(m: _Memory, pid: str, handle: str, channel: str, when: datetime) -> Profile:
    p = m.person(pid, handle=handle)
    p["channels"] = remember(p["channels"], channel)
    team = m.profile("teams", settings.team)
    team["channels"] = remember(team["channels"], channel)
    m.relate("in_channel", pid, channel, when)
    return p


@agent.handler(MessagePosted, topic=CHAT)
async def on_message(e: MessagePosted, ctx: Context) -> None:
    if e.is_bot:
        return
    m = _Memory(ctx)
    pid = _who(e.user, e.user_person) or e.user
    p = _in_channel(m, pid, e.user, e.channel, e.posted_at)
    where = "replied in" if e.is_thread_reply else "posted in"
    m.recent([p], e.posted_at, f"{where} {e.channel}: {e.text[:80]}", f"channel:{e.channel}")
    m.save()


@agent.handler(ReactionAdded, topic=CHAT)
async def on_reaction(e: ReactionAdded, ctx: Context) -> None:
    m = _Memory(ctx)
    pid = _who(e.user, e.user_person) or e.user
    p = _in_channel(m, pid, e.user, e.channel, e.reacted_at)
    m.recent([p], e.reacted_at, f"reacted :{e.reaction}: in {e.channel}", f"channel:{e.channel}")
    m.save()


@agent.handler(MemberJoinedChannel, topic=CHAT)
async def on_joined(e: MemberJoinedChannel, ctx: Context) -> None:
    m = _Memory(ctx)
    pid = _who(e.user, e.user_person) or e.user
    _in_channel(m, pid, e.user, e.channel, e.joined_at)
    m.save()


@agent.handler(MemberLeftChannel, topic=CHAT)
async def on_left(e: MemberLeftChannel, ctx: Context) -> None:
    m = _Memory(ctx)
    pid = _who(e.user, e.user_person) or e.user
    p = m.person(pid, handle=e.user)
    p["channels"] = [c for c in p["channels"] if c != e.channel]
    m.unrelate("in_channel", pid, e.channel, e.left_at)
    m.save()


# -- calendar -----------------------------------------------------------------------------------

def _meeting_key(uid: str, occurrence: datetime | None) -> str:
    return uid if occurrence is None else f"{uid}@{occurrence.isoformat()}"


def _attending(attendees: Iterable[Attendee]) -> list[tuple[str, str]]:
    return [(a.person or a.email, a.email) for a in attendees
            if a.response != AttendeeResponse.DECLINED]


async def _meeting(e: MeetingScheduled | MeetingUpdated, ctx: Context) -> None:
    m = _Memory(ctx)
    key = _meeting_key(e.uid, e.occurrence)
    info = {"title": e.title, "start": e.start.isoformat(), "end": e.end.isoformat(),
            "id": e.meta.id, "organizer": e.organizer_person or e.organizer}
    going = _attending(e.attendees)
    for pid, email in going:
        p = m.person(pid, handle=email)
        p["meetings"][key] = info
        m.relate("attends", pid, key, e.start, until=e.end)
    for a in e.attendees:  # declined now: no longer attending
        if a.response == AttendeeResponse.DECLINED:
            pid = a.person or a.email
            m.person(pid, handle=a.email)["meetings"].pop(key, None)
            m.unrelate("attends", pid, key, e.start)
    m.save()


@agent.handler(MeetingScheduled, topic=CAL)
async def on_meeting_scheduled(e: MeetingScheduled, ctx: Context) -> None:
    await _meeting(e, ctx)


@agent.handler(MeetingUpdated, topic=CAL)
async def on_meeting_updated(e: MeetingUpdated, ctx: Context) -> None:
    await _meeting(e, ctx)


@agent.handler(MeetingCancelled, topic=CAL)
async def on_meeting_cancelled(e: MeetingCancelled, ctx: Context) -> None:
    m = _Memory(ctx)
    key = _meeting_key(e.uid, e.occurrence)
    # A cancellation may not list attendees: then everyone holding the meeting lets it go.
    people = [pid for pid, _ in _attending(e.attendees)] or [
        pid for pid in m.profile("teams", settings.team)["people"]
        if key in m.profile("people", pid)["meetings"]
    ]
    for pid in people:
        p = m.profile("people", pid)
        start = p["meetings"].pop(key, {}).get("start")
        when = e.start or (datetime.fromisoformat(start) if start else None)
        if when is not None:
            m.unrelate("attends", pid, key, when)
    m.save()
