"""The pr-risk rules as pure functions over plain state, so they are tested without a broker.

State is JSON (it lives in a memory store): one dict per pull request (``new_pr``) and one dict
of team-level flags (``team_flags``). Each rule returns the risks to publish as ``Risk`` values;
the agent turns them into ``RiskDetected`` events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from services.pr_risk.settings import PrRiskSettings

__all__ = [
    "Risk",
    "build_failed",
    "large_pr",
    "pending_load",
    "pr_key",
    "review_load",
    "stale_review",
    "waited",
]

PrState = dict[str, Any]
STREAK_HIGH = 3  # failures in a row of one workflow on one pull request: reported again, high


@dataclass(frozen=True)
class Risk:
    """A risk to publish; ``subject`` is the entity key of the output event."""

    kind: str
    severity: str
    subject: str
    title: str
    summary: str
    based_on: tuple[str, ...]
    recommendation: str | None = None
    confidence: float | None = None
    person: str | None = None
    entities: tuple[str, ...] = field(default=())


def pr_key(repo: str, number: int) -> str:
    """The entity key of a pull request: ``owner/name#number``."""
    return f"{repo}#{number}"


def _person(pr: PrState) -> str:
    """The author's person id (the connectors' identity map), else their handle."""
    return str(pr.get("person") or pr["author"])


def _hours(d: timedelta) -> str:
    h = d.total_seconds() / 3600
    return f"{h:.0f} h" if h >= 1 else f"{d.total_seconds() / 60:.0f} min"


def large_pr(pr: PrState, s: PrRiskSettings) -> Risk | None:
    """A pull request changing more lines or files than the thresholds."""
    lines, files = pr.get("lines", 0), pr.get("files", 0)
    if lines <= s.large_pr_lines and files <= s.large_pr_files:
        return None
    key = pr_key(pr["repo"], pr["number"])
    return Risk(
        kind="large-pull-request",
        severity="medium",
        subject=key,
        title=f"{key} changes {lines} lines in {files} files",
        summary=f"'{pr['title']}' by {pr['author']} is larger than the team's limits "
        f"({s.large_pr_lines} lines, {s.large_pr_files} files); large changes get shallow "
        "reviews.",
        based_on=(pr["opened_id"],),
        recommendation="Ask the author to split it, or pair on the review.",
        confidence=0.7,
        person=_person(pr),
        entities=(f"pr:{key}", f"repo:{pr['repo']}", f"person:{_person(pr)}"),
    )


def stale_review(pr: PrState, waited: timedelta, s: PrRiskSettings, *, late_by: str | None = None
                 ) -> Risk:
    """A pull request that waited (or has waited so far) longer than the first-review agreement.

    ``late_by`` names the reviewer whose first review came late; ``None`` means still waiting.
    """
    key = pr_key(pr["repo"], pr["number"])
    evidence = [pr["opened_id"], *pr.get("requested", {}).values()]
    if late_by is not None and pr.get("first_review_id"):
        evidence.append(pr["first_review_id"])
    who = ", ".join(sorted(pr.get("requested", {}))) or "nobody yet"
    if late_by is None:
        summary = (f"'{pr['title']}' by {pr['author']} has had no review for {_hours(waited)}; "
                   f"the team agreed on a first review within {_hours(s.first_review_within)}. "
                   f"Requested reviewers: {who}.")
    else:
        summary = (f"'{pr['title']}' by {pr['author']} waited {_hours(waited)} for its first "
                   f"review (by {late_by}); the agreement is {_hours(s.first_review_within)}.")
    return Risk(
        kind="stale-review",
        severity="high" if late_by is None else "medium",
        subject=key,
        title=f"{key} waited {_hours(waited)} for a first review",
        summary=summary,
        based_on=tuple(dict.fromkeys(evidence)),
        recommendation="Pick a reviewer today, or re-assign the requested review."
        if late_by is None else "Look at why reviews of this repository start late.",
        confidence=1.0,
        person=_person(pr),
        entities=(f"pr:{key}", f"repo:{pr['repo']}", f"person:{_person(pr)}"),
    )


def build_failed(
    event_id: str,
    *,
    repo: str,
    workflow: str,
    branch: str | None,
    conclusion: str,
    prs: Iterable[PrState],
    s: PrRiskSettings,
) -> list[Risk]:
    """A failing build: one risk per open pull request it belongs to, else one for the branch.

    A pull request's ``failing[workflow]`` lists the failed runs of its current streak (this one
    last): the first failure is reported, and again at ``STREAK_HIGH`` failures in a row (high,
    citing them all); failures in between add nothing new.
    """
    out: list[Risk] = []
    matched = False
    for pr in prs:
        matched = True
        key = pr_key(pr["repo"], pr["number"])
        streak = list(pr.get("failing", {}).get(workflow, [event_id]))
        if len(streak) not in (1, STREAK_HIGH):
            continue
        again = len(streak) >= STREAK_HIGH
        out.append(Risk(
            kind="build-failing",
            severity="high" if again else "medium",
            subject=key,
            title=f"{workflow} fails on open pull request {key}"
            + (f" ({len(streak)} times in a row)" if again else ""),
            summary=f"The build of '{pr['title']}' by {pr['author']} ended '{conclusion}'"
            + (f", the {len(streak)}th failure in a row" if again else "")
            + "; it cannot be merged safely until it passes.",
            based_on=(*streak, pr["opened_id"]),
            recommendation="Pair on the failing test, or quarantine it with an owner."
            if again else "Fix the build before asking for (more) reviews.",
            confidence=1.0,
            person=_person(pr),
            entities=(f"pr:{key}", f"repo:{repo}", f"person:{_person(pr)}"),
        ))
    if matched:
        return out
    on_default = branch in s.default_branches
    return [Risk(
        kind="build-failing",
        severity="high" if on_default else "medium",
        subject=repo,
        title=f"{workflow} fails on {branch or 'an unknown branch'} in {repo}",
        summary=f"The run ended '{conclusion}'"
        + (" on a default branch: everything merged on top of it is untested." if on_default
           else "."),
        based_on=(event_id,),
        recommendation="Fix or revert before merging more work." if on_default else None,
        confidence=1.0,
        entities=(f"repo:{repo}",),
    )]


def pending_load(prs: Iterable[PrState]) -> dict[str, dict[str, str]]:
    """Pending review requests per reviewer: ``{reviewer: {pr key: request event id}}``."""
    load: dict[str, dict[str, str]] = {}
    for pr in prs:
        if pr.get("state", "open") != "open":
            continue
        for reviewer, ev in pr.get("requested", {}).items():
            load.setdefault(reviewer, {})[pr_key(pr["repo"], pr["number"])] = ev
    return load


def review_load(
    load: Mapping[str, Mapping[str, str]],
    flags: dict[str, Any],
    s: PrRiskSettings,
    *,
    team: str,
) -> tuple[list[Risk], dict[str, Any]]:
    """Overloaded reviewers and an imbalanced review load, each reported once per episode.

    ``flags`` holds what was already reported (``overloaded``: reviewers, ``imbalanced``: the
    busiest reviewer or None); returns the new risks and the new flags. An episode ends with
    some margin, so a load wobbling at the threshold is not reported again and again: an
    overload once the reviewer is two below the trigger (``REVIEWER_MAX_PENDING - 1`` pending),
    an imbalance once its reviewer is two below ``IMBALANCE_MIN_PENDING``.
    """
    risks: list[Risk] = []
    was_over = set(flags.get("overloaded", ()))
    over = {r for r, prs in load.items() if len(prs) > s.reviewer_max_pending}
    still = {r for r in was_over if len(load.get(r, {})) >= s.reviewer_max_pending}
    for reviewer in sorted(over - was_over):
        prs = load[reviewer]
        risks.append(Risk(
            kind="reviewer-overload",
            severity="medium",
            subject=f"person:{reviewer}",
            title=f"{reviewer} has {len(prs)} reviews pending",
            summary=f"{reviewer} is asked to review {', '.join(sorted(prs))}; more than "
            f"{s.reviewer_max_pending} pending reviews means each of them waits.",
            based_on=tuple(prs[k] for k in sorted(prs)),
            recommendation="Move some of these reviews to someone with fewer.",
            confidence=0.9,
            person=reviewer,
            entities=(f"person:{reviewer}", *(f"pr:{k}" for k in sorted(prs))),
        ))
    counts = {r: len(prs) for r, prs in load.items()}
    flagged = flags.get("imbalanced") or None
    if flagged is not None and counts.get(flagged, 0) < s.imbalance_min_pending - 1:
        flagged = None
    if len(counts) >= 2:
        top = max(counts, key=lambda r: (counts[r], r))
        avg = mean(counts.values())
        imbalanced = counts[top] >= s.imbalance_min_pending and counts[top] >= (
            s.imbalance_ratio * avg
        )
        if imbalanced and flagged is None:
            flagged = top
            spread = ", ".join(f"{r} {n}" for r, n in sorted(counts.items(), key=lambda x: -x[1]))
            risks.append(Risk(
                kind="review-imbalance",
                severity="medium",
                subject=f"team:{team}",
                title=f"Review load is uneven: {top} holds {counts[top]} of "
                f"{sum(counts.values())} pending reviews",
                summary=f"Pending reviews per reviewer: {spread} (mean {avg:.1f}). "
                "One person gating most reviews slows everyone and spreads knowledge thinly.",
                based_on=tuple(load[top][k] for k in sorted(load[top])),
                recommendation=f"Route new review requests away from {top} this week.",
                confidence=0.8,
                person=top,
                entities=(f"team:{team}", *(f"person:{r}" for r in sorted(counts))),
            ))
    return risks, {"overloaded": sorted(over | still), "imbalanced": flagged}


def waited(opened_at: str, until: datetime) -> timedelta:
    """How long since ``opened_at`` (ISO) at ``until``."""
    return until - datetime.fromisoformat(opened_at)
