"""Event time, tumbling windows and PR cycle times as pure functions over JSON state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["add", "cycle_times", "event_time", "summary_id", "window_key", "window_of"]

# The event's own time field, by preference; meta.time (when it was normalised) otherwise.
_TIME_FIELDS = ("created_at", "submitted_at", "merged_at", "closed_at", "failed_at",
                "recovered_at", "ready_at", "converted_at", "requested_at", "removed_at",
                "published_at", "posted_at", "reacted_at", "joined_at", "left_at", "edited_at",
                "deleted_at", "removed_at")
_NS = uuid.UUID("0b5f1c2e-6a1d-4e9b-9a8e-2f8c7d6e5a41")


def event_time(event: Any) -> datetime:
    for name in _TIME_FIELDS:
        t = getattr(event, name, None)
        if isinstance(t, datetime):
            return t
    t = event.meta.time
    assert isinstance(t, datetime)
    return t


def window_of(t: datetime, size: timedelta) -> tuple[datetime, datetime]:
    """The tumbling window of ``size`` (aligned to the UNIX epoch, UTC) holding ``t``."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    n = (t.astimezone(UTC) - epoch) // size
    start = epoch + n * size
    return start, start + size


def window_key(entity: str, start: datetime) -> str:
    """Table key of an entity's window: ``<entity>|<window start ISO>``."""
    return f"{entity}|{start.isoformat()}"


def add(state: dict[str, Any] | None, *, event: Any, start: datetime, end: datetime,
        entity: str, limit: int, seen_at: float) -> dict[str, Any]:
    """Count ``event`` (by type simple name) into its window's state, once per event id."""
    s = state or {"entity": entity, "start": start.isoformat(), "end": end.isoformat(),
                  "counts": {}, "ids": [], "n": 0, "seen": []}
    eid = event.meta.id
    if eid in s["seen"]:
        return s
    name = type(event).__name__
    s["counts"][name] = s["counts"].get(name, 0) + 1
    s["n"] += 1
    s["seen"].append(eid)
    if len(s["ids"]) < limit:
        s["ids"].append(eid)
    s["touched"] = seen_at
    return s


def summary_id(app_id: str, state: dict[str, Any]) -> str:
    """A deterministic insight id from the window and what it counted: publishing the same
    window again (after a restart) repeats the id, a revision with more events gets a new one."""
    basis = f"{app_id}|{state['entity']}|{state['start']}|{sorted(state['seen'])}"
    return str(uuid.uuid5(_NS, basis))


def cycle_times(pr: dict[str, Any], merged_at: datetime) -> dict[str, int]:
    """Seconds of pickup (opened → first review), review (first review → approval; approval =
    the last approving review before the merge, else the last review) and merge (approval →
    merged), and their sum. Missing stages count as 0."""
    opened = datetime.fromisoformat(pr["opened_at"])
    first = datetime.fromisoformat(pr["first_review_at"]) if pr.get("first_review_at") else None
    approved = datetime.fromisoformat(pr["approved_at"]) if pr.get("approved_at") else None
    last = datetime.fromisoformat(pr["last_review_at"]) if pr.get("last_review_at") else None
    done = approved or last
    pickup = (first - opened) if first else merged_at - opened
    review = (done - first) if first and done else timedelta(0)
    merge = (merged_at - done) if done else timedelta(0)
    parts = {"pickup_seconds": pickup, "review_seconds": review, "merge_seconds": merge}
    out = {k: max(0, int(v.total_seconds())) for k, v in parts.items()}
    out["cycle_seconds"] = max(0, int((merged_at - opened).total_seconds()))
    return out
