"""Semantic events → one line of text to embed, as an ``agentstream.retrieval.Document``.

Filters kept with every vector: the event id, ``type`` (simple name), ``subject`` and ``channel``
(keywords), the repository, the people (every handle and resolved person id the event names),
the entities (subject, repository, ``repo#number``, channel, people: what "forget this entity"
matches), the time of the fact and the source. ``as_hit`` turns a retrieval hit back into the
JSON the search endpoint answers (``repo``, ``people``, ``entities``, ``time`` in epoch ms).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentstream.retrieval import Document, Hit

__all__ = ["PEOPLE_FIELDS", "as_hit", "to_document"]

# Fields that name a person; connectors add a resolved person id next to a handle as
# ``<field>_person`` (or ``person``), which is collected as well.
PEOPLE_FIELDS = (
    "author",
    "reviewer",
    "requested_by",
    "merged_by",
    "closed_by",
    "actor",
    "user",
    "organizer",
    "item_user",
    "person",
)


def _people(event: Any) -> list[str]:
    out: list[str] = []
    for name in getattr(event, "__dataclass_fields__", {}) or vars(event):
        if name in PEOPLE_FIELDS or name.endswith("_person"):
            v = getattr(event, name, None)
            if isinstance(v, str) and v:
                out.append(v)
    for a in getattr(event, "attendees", None) or ():
        for attr in ("email", "person", "name"):
            v = getattr(a, attr, None) if not isinstance(a, str) else a
            if isinstance(v, str) and v:
                out.append(v)
                break
    return list(dict.fromkeys(out))


def _ms(t: Any) -> int:
    if isinstance(t, datetime):
        return int(t.timestamp() * 1000)
    return int(t or 0)


def _line(name: str, e: Any) -> str:  # noqa: PLR0911 - one template per event type
    g = lambda a: getattr(e, a, None)  # noqa: E731
    pr = f"{g('repo')}#{g('number')}"
    if name == "PullRequestOpened":
        size = f"+{g('additions') or 0}/-{g('deletions') or 0} in {g('changed_files') or 0} files"
        body = f" — {g('body')}" if g("body") else ""
        return f"{g('author')} opened pull request {pr} '{g('title')}' ({size}){body}"
    if name == "ReviewRequested":
        who = g("reviewer") or f"team {g('team')}"
        return f"{g('requested_by')} asked {who} to review {pr}"
    if name == "ReviewSubmitted":
        body = f": {g('body')}" if g("body") else ""
        return f"{g('reviewer')} reviewed {pr} ({g('state')}){body}"
    if name == "PullRequestMerged":
        return f"{g('merged_by') or g('author')} merged {pr} '{g('title')}' by {g('author')}"
    if name == "PullRequestClosed":
        return f"{pr} '{g('title')}' by {g('author')} was closed without merging"
    if name == "BuildFailed":
        prs = ", ".join(f"#{n}" for n in (g("pull_requests") or []))
        on = f" (pull requests {prs})" if prs else ""
        return (
            f"build {g('workflow')} failed ({g('conclusion')}) on {g('repo')} branch "
            f"{g('branch')}{on}"
        )
    if name == "CommentAdded":
        return f"{g('author')} commented on {pr}: {g('body')}"
    if name == "MessagePosted":
        return f"{g('user')} in channel {g('channel')}: {g('text')}"
    if name == "MeetingScheduled":
        return (
            f"meeting '{g('title')}' organised by {g('organizer')} from {g('start')} to {g('end')}"
        )
    if name in ("RiskDetected", "ActivitySummary", "BriefingReady"):
        return f"{name} {g('kind') or ''} {g('title') or ''}: {g('summary') or g('body') or ''}"
    fields = {k: v for k, v in vars(e).items() if k != "meta" and isinstance(v, str | int)}
    return f"{name} " + ", ".join(f"{k}={v}" for k, v in fields.items())


def _time(e: Any) -> int:
    for attr in (
        "created_at",
        "submitted_at",
        "merged_at",
        "failed_at",
        "posted_at",
        "start",
        "closed_at",
        "published_at",
        "reacted_at",
    ):
        v = getattr(e, attr, None)
        if v is not None:
            return _ms(v)
    return _ms(e.meta.time)


def to_document(event: Any) -> Document:
    """The text and filters of ``event`` (any record with a ``meta``)."""
    name = str(event.meta.type).rsplit(".", 1)[-1]
    repo = getattr(event, "repo", None)
    number = getattr(event, "number", None)
    channel = getattr(event, "channel", None)
    people = _people(event)
    entities = [event.meta.subject, *people]
    if repo:
        entities.append(repo)
        if number is not None:
            entities.append(f"{repo}#{number}")
    if channel:
        entities.append(channel)
    keywords = {"type": name, "subject": str(event.meta.subject)}
    if channel:
        keywords["channel"] = str(channel)
    return Document(
        event_id=str(event.meta.id),
        text=_line(name, event),
        time=datetime.fromtimestamp(_time(event) / 1000, UTC),
        source=str(event.meta.source),
        repository=str(repo) if repo else None,
        people=tuple(people),
        entities=tuple(dict.fromkeys(str(x) for x in entities if x)),
        keywords=keywords,
    )


def as_hit(hit: Hit) -> dict[str, Any]:
    """What the search endpoint answers for one hit."""
    p = hit.payload
    return {
        "event_id": hit.event_id,
        "score": hit.score,
        "type": p.get("type"),
        "subject": p.get("subject"),
        "repo": p.get("repository"),
        "channel": p.get("channel"),
        "people": p.get("person", []),
        "entities": p.get("entity", []),
        "time": round(float(p.get("time", 0)) * 1000),
        "source": p.get("source"),
        "text": hit.text,
    }
