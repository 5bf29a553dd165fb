"""Gather a briefing's evidence: insights from their topics, activity from retrieval, and the
team's state from team-memory's profiles (open pull requests, pending reviews, who is
overloaded, failing builds) over its HTTP endpoint.

Every item keeps the id of the event it comes from; the briefing cites those ids and nothing
else. Items are plain JSON so the workflow can checkpoint them.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from agentstream.config import KafkaSettings
from agentstream.serde import read_events
from services.daily_briefing.settings import BriefingSettings

__all__ = ["gather", "team_state"]

log = logging.getLogger("services.daily_briefing")
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_warned: set[str] = set()  # team-memory degradations already logged by this process


def _warn_once(what: str, message: str, *args: Any) -> None:
    if what not in _warned:
        _warned.add(what)
        log.warning(message, *args)
    else:
        log.debug(message, *args)


def _ms(t: Any) -> int:
    return int(t.timestamp() * 1000) if isinstance(t, datetime) else int(t)


def _risks(records: list[Any], start: int, end: int) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], Any] = {}
    for r in records:
        if (
            getattr(r.meta, "type", "").endswith("RiskDetected")
            and start <= _ms(r.meta.time) <= end
        ):
            latest[(r.meta.subject, r.kind)] = r  # the latest view of a risk per subject
    items = []
    for r in latest.values():
        sev = str(getattr(r.severity, "value", r.severity))
        items.append(
            {
                "id": str(r.meta.id),
                "kind": f"risk:{r.kind}",
                "severity": sev,
                "text": f"{r.title}. {r.summary}",
                "time": _ms(r.meta.time),
                "evidence": [str(x) for x in r.based_on],
            }
        )
    items.sort(key=lambda i: (_SEVERITY.get(i["severity"], 9), -i["time"]))
    return items


def _activity(records: list[Any], start: int, end: int) -> list[dict[str, Any]]:
    items = []
    for r in records:
        if (
            getattr(r.meta, "type", "").endswith("ActivitySummary")
            and start <= _ms(r.meta.time) <= end
        ):
            items.append(
                {
                    "id": str(r.meta.id),
                    "kind": "activity",
                    "text": r.summary,
                    "entity": r.entity,
                    "time": _ms(r.meta.time),
                    "evidence": [str(x) for x in r.based_on],
                }
            )
    items.sort(key=lambda i: -i["time"])
    return items


def _search(url: str, q: str, **filters: str | int) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"q": q, **filters}, doseq=True)
    with urllib.request.urlopen(f"{url.rstrip('/')}/search?{query}", timeout=10) as r:
        hits: list[dict[str, Any]] = json.loads(r.read())["hits"]
    return hits


def _retrieved(settings: BriefingSettings, start: int, end: int) -> list[dict[str, Any]]:
    if not settings.indexer_url:
        return []
    out: list[dict[str, Any]] = []
    for q, types in (
        ("pull request merged", ["PullRequestMerged"]),
        ("review approved looks good", ["ReviewSubmitted"]),
        ("great work thanks unblock", ["MessagePosted"]),
    ):
        try:
            hits = _search(
                settings.indexer_url,
                q,
                type=types,
                since=start,
                until=end,
                limit=settings.max_items,
            )
        except OSError as exc:
            log.warning("indexer search failed (%s); briefing goes on without it", exc)
            return out
        out.extend(
            {"id": h["event_id"], "kind": h["type"], "text": h["text"], "time": h.get("time", 0)}
            for h in hits
        )
    return out


def _memory(url: str, store: str, key: str | None = None) -> dict[str, Any] | None:
    """``GET /memory/<store>[/<key>]`` of team-memory's ops port; None when there is no such
    key (404)."""
    path = f"{url.rstrip('/')}/memory/{store}"
    if key is not None:
        path += "/" + urllib.parse.quote(key, safe="")
    else:
        path += "?limit=500"
    try:
        with urllib.request.urlopen(path, timeout=10) as r:
            doc = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    return doc if isinstance(doc, dict) else None


def _value(url: str, store: str, key: str) -> dict[str, Any]:
    doc = _memory(url, store, key) or {}
    value = doc.get("value")
    return value if isinstance(value, dict) else {}


def _members(url: str, team: str) -> tuple[list[str], list[str]]:
    """The team's people and repositories: its team profile, else every profile there is."""
    profile = _value(url, "teams", team)
    if profile:
        return [str(p) for p in profile.get("people") or []], [
            str(r) for r in profile.get("repos") or []]
    out = []
    for store in ("people", "repos"):
        doc = _memory(url, store) or {}
        out.append([str(k) for k in doc.get("keys") or []])
    return out[0], out[1]


def _review_state(pr: dict[str, Any]) -> str:
    requested = sorted(pr.get("requested") or {})
    reviews = pr.get("reviews") or {}
    parts = [f"{who} {state}".lower() for who, state in sorted(reviews.items())]
    if requested:
        parts.append("waiting on " + ", ".join(requested))
    return "; ".join(parts) or "no reviewer requested"


def team_state(settings: BriefingSettings, team: str) -> list[dict[str, Any]]:
    """What team-memory knows that a manager acts on, most pressing first: people with at
    least ``overloaded_reviews`` reviews pending, failing builds, each pending review request,
    each open pull request. Every item cites the event it stands on (``id``) and, for a
    summary, all of them (``evidence``). Empty, logged once, when team-memory is not configured
    or cannot be read: the briefing goes on from insights and retrieval."""
    url = settings.team_memory_url
    if not url:
        _warn_once("unset", "no team-memory endpoint (AGENTSTREAM_BRIEFING_TEAM_MEMORY_URL): "
                   "briefings are gathered without the team's profiles")
        return []
    try:
        people, repos = _members(url, team)
        profiles = {p: _value(url, "people", p) for p in people}
        repo_profiles = {r: _value(url, "repos", r) for r in repos}
    except (OSError, ValueError) as exc:
        _warn_once("unreachable", "team-memory at %s cannot be read (%s): briefing goes on "
                   "without the team's profiles", url, exc)
        return []
    overloaded, failing, pending, open_prs = [], [], [], []
    for person, prof in sorted(profiles.items()):
        waiting = {str(pr): str(rid) for pr, rid in (prof.get("pending_reviews") or {}).items()}
        for pr, rid in sorted(waiting.items()):
            pending.append({"id": rid, "kind": "memory:pending_review",
                            "text": f"{person} has a review of {pr} pending", "person": person})
        if len(waiting) >= settings.overloaded_reviews:
            prs = ", ".join(sorted(waiting))
            overloaded.append({
                "id": sorted(waiting.items())[0][1], "kind": "memory:overloaded",
                "text": f"{person} is overloaded: {len(waiting)} reviews pending ({prs})",
                "person": person, "evidence": [waiting[k] for k in sorted(waiting)]})
    for repo, prof in sorted(repo_profiles.items()):
        for workflow, build in sorted((prof.get("failing") or {}).items()):
            on = ", ".join(f"#{n}" for n in build.get("pull_requests") or [])
            failing.append({
                "id": str(build.get("id")), "kind": "memory:failing_build",
                "text": f"{workflow} is failing on {repo} branch {build.get('branch')}"
                        + (f" (pull requests {on})" if on else "")})
        for key, pr in sorted((prof.get("open_prs") or {}).items()):
            if not pr.get("opened_id"):
                continue
            since = str(pr.get("opened_at") or "")[:10]
            open_prs.append({
                "id": str(pr["opened_id"]), "kind": "memory:open_pr",
                "text": f"{key} '{pr.get('title')}' by {pr.get('author')} open since {since}: "
                        f"{_review_state(pr)}"})
    return [*overloaded, *failing, *pending, *open_prs]


def gather(
    settings: BriefingSettings, kafka: KafkaSettings, *, team: str, start: int, end: int
) -> dict[str, Any]:
    """The evidence of one team's briefing over ``[start, end]`` (epoch ms)."""
    risks = _risks(read_events(kafka, settings.risks_topic), start, end)
    activity = _activity(read_events(kafka, settings.activity_topic), start, end)
    went_well = _retrieved(settings, start, end)
    state = team_state(settings, team)
    n = settings.max_items
    return {
        "team": team,
        "start": start,
        "end": end,
        "risks": risks[:n],
        "team_state": state[: 2 * n],
        "activity": activity[:n],
        "went_well": went_well[: 2 * n],
    }
