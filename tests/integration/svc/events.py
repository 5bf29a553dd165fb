"""Semantic events for the reference-product service tests, and helpers to read outputs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Message

from agentstream.events import (
    Attendee,
    AttendeeResponse,
    BuildFailed,
    MeetingScheduled,
    MemberJoinedChannel,
    MemberLeftChannel,
    MessagePosted,
    PullRequestMerged,
    PullRequestOpened,
    ReviewRequested,
    ReviewState,
    ReviewSubmitted,
    RiskDetected,
    RiskSeverity,
)
from agentstream.schemas import Record, new_meta
from agentstream.serde import Serde
from agentstream.testing import consume_until, consumer, produce


def _subject(repo: str, number: int) -> str:
    return f"{repo}#{number}"


def opened(repo: str, number: int, author: str, *, at: datetime | None = None,
           lines: int = 10, files: int = 1, draft: bool = False) -> PullRequestOpened:
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="test", subject=_subject(repo, number)),
        repo=repo, number=number, title=f"change {number}", url=f"https://x/{repo}/{number}",
        author=author, base_branch="main", head_branch=f"feat-{number}", draft=draft,
        created_at=at or datetime.now(UTC), additions=lines, deletions=0, changed_files=files,
    )


def requested(repo: str, number: int, reviewer: str, by: str = "lead") -> ReviewRequested:
    return ReviewRequested(
        meta=new_meta(ReviewRequested, source="test", subject=_subject(repo, number)),
        repo=repo, number=number, url=f"https://x/{repo}/{number}", requested_by=by,
        reviewer=reviewer,
    )


def reviewed(repo: str, number: int, reviewer: str, *, at: datetime | None = None
             ) -> ReviewSubmitted:
    return ReviewSubmitted(
        meta=new_meta(ReviewSubmitted, source="test", subject=_subject(repo, number)),
        repo=repo, number=number, url=f"https://x/{repo}/{number}", reviewer=reviewer,
        state=ReviewState.APPROVED, submitted_at=at or datetime.now(UTC),
    )


def merged(repo: str, number: int, author: str, *, at: datetime | None = None
           ) -> PullRequestMerged:
    return PullRequestMerged(
        meta=new_meta(PullRequestMerged, source="test", subject=_subject(repo, number)),
        repo=repo, number=number, title=f"change {number}", url=f"https://x/{repo}/{number}",
        author=author, merged_by="lead", merged_at=at or datetime.now(UTC),
    )


def build_failed(repo: str, prs: Iterable[int], *, branch: str = "feat") -> BuildFailed:
    return BuildFailed(
        meta=new_meta(BuildFailed, source="test", subject=repo),
        repo=repo, workflow="ci", run_id=1, url="https://x/run/1", commit_sha="abcdef123456",
        branch=branch, conclusion="failure", actor="bot", pull_requests=tuple(prs),
        failed_at=datetime.now(UTC),
    )


def message(channel: str, user: str, *, at: datetime, text: str = "hi") -> MessagePosted:
    return MessagePosted(
        meta=new_meta(MessagePosted, source="test", subject=channel),
        team="T1", channel=channel, user=user, text=text, ts=f"{at.timestamp():.6f}",
        posted_at=at,
    )


def risk(kind: str, subject: str, based_on: tuple[str, ...], *, severity: str = "medium"
         ) -> RiskDetected:
    return RiskDetected(
        meta=new_meta(RiskDetected, source="test", subject=subject), based_on=based_on,
        kind=kind, severity=RiskSeverity(severity), title=f"{kind} on {subject}",
        summary="because", recommendation="do something", team="payments",
    )


def joined(channel: str, user: str, *, at: datetime) -> MemberJoinedChannel:
    return MemberJoinedChannel(
        meta=new_meta(MemberJoinedChannel, source="test", subject=channel),
        team="T1", channel=channel, user=user, joined_at=at,
    )


def left(channel: str, user: str, *, at: datetime) -> MemberLeftChannel:
    return MemberLeftChannel(
        meta=new_meta(MemberLeftChannel, source="test", subject=channel),
        team="T1", channel=channel, user=user, left_at=at,
    )


def meeting(uid: str, title: str, start: datetime, end: datetime, attendees: Iterable[str],
            *, organizer: str | None = None) -> MeetingScheduled:
    return MeetingScheduled(
        meta=new_meta(MeetingScheduled, source="test", subject=uid),
        uid=uid, title=title, start=start, end=end, organizer=organizer,
        attendees=tuple(Attendee(email=a, response=AttendeeResponse.ACCEPTED)
                        for a in attendees),
    )


def publish(bootstrap: str, serde: Serde, topic: str, events: Iterable[Record]) -> None:
    produce(bootstrap, topic,
            [(e.meta.subject.encode(), serde.encode(topic, e)) for e in events])  # type: ignore[attr-defined]


def read_records(
    bootstrap: str,
    serde: Serde,
    topic: str,
    *,
    until: Callable[[list[Any]], bool],
    timeout: timedelta = timedelta(seconds=60),
) -> list[Any]:
    """Decoded records of ``topic`` from the start, polled until ``until(records)`` holds."""
    out: list[Any] = []

    def check(msgs: list[Message]) -> bool:
        while len(out) < len(msgs):
            m = msgs[len(out)]
            out.append(serde.decode(topic, m.value(), partition=m.partition(),
                                    offset=m.offset()))
        return until(out)

    with consumer(bootstrap) as c:
        c.subscribe([topic])
        consume_until(c, until=check, timeout=timeout)
    return out


def alive(child: subprocess.Popen[bytes], log: Path, pred: Callable[[list[Any]], bool]
          ) -> Callable[[list[Any]], bool]:
    """``pred``, failing at once (with the child's log) when the service process died."""

    def check(rs: list[Any]) -> bool:
        if child.poll() is not None:
            tail = log.read_text()[-3000:] if log.exists() else "(no log)"
            raise AssertionError(f"the service exited with {child.returncode}:\n{tail}")
        return pred(rs)

    return check


def ids_on(bootstrap: str, serde: Serde, topic: str, n: int) -> set[str]:
    """The event ids of the first ``n`` records of ``topic``."""
    return {r.meta.id for r in read_records(bootstrap, serde, topic,
                                            until=lambda rs: len(rs) >= n)}


