"""Profile updates as pure functions on JSON state (people, repositories, the team).

Key formats (the same in the CLI, over HTTP and in ``agentstream.memory.read_key``):

- store ``people``: the person id (the connectors' ``*_person`` id when known, else the handle);
- store ``repos``: ``owner/name``;
- store ``teams``: the team name (setting ``TEAM``);
- store ``graph`` (bi-temporal facts): ``<relation>|<from>|<to>`` with relation one of
  ``reviews`` (person reviews person), ``works_on`` (person, repository), ``in_channel``
  (person, channel), ``attends`` (person, meeting key ``uid`` or ``uid@occurrence``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RELATIONS", "add_recent", "edge_key", "new_person", "new_repo", "new_team",
           "parse_edge_key", "remember"]

RELATIONS = ("reviews", "works_on", "in_channel", "attends")
Profile = dict[str, Any]


def edge_key(relation: str, a: str, b: str) -> str:
    """The graph store key of a relation from ``a`` to ``b``."""
    if relation not in RELATIONS:
        raise ValueError(f"unknown relation {relation!r}; one of {', '.join(RELATIONS)}")
    return f"{relation}|{a}|{b}"


def parse_edge_key(key: str) -> tuple[str, str, str]:
    """``(relation, from, to)`` of a graph key."""
    relation, a, b = key.split("|", 2)
    return relation, a, b


def new_person(pid: str) -> Profile:
    return {"id": pid, "handles": [], "open_prs": {}, "pending_reviews": {}, "reviews_given": 0,
            "repos": [], "channels": [], "meetings": {}, "recent": [], "last_active": None}


def new_repo(repo: str) -> Profile:
    return {"id": repo, "open_prs": {}, "failing": {}, "contributors": [], "recent": [],
            "last_active": None}


def new_team(team: str) -> Profile:
    return {"id": team, "people": [], "repos": [], "channels": [], "open_prs": 0, "recent": []}


def remember(items: list[str], value: str) -> list[str]:
    """``items`` with ``value`` added once (sorted, so snapshots do not churn)."""
    return items if value in items else sorted([*items, value])


def add_recent(profile: Profile, entry: dict[str, Any], limit: int) -> None:
    """Put ``entry`` (``type``, ``id``, ``time`` ISO, ``what``) first in the recent activity,
    once per event id, keeping at most ``limit`` entries, newest first by event time."""
    recent = [e for e in profile.get("recent", []) if e["id"] != entry["id"]]
    recent.append(entry)
    recent.sort(key=lambda e: e["time"], reverse=True)
    profile["recent"] = recent[:limit]
    last = profile.get("last_active")
    if last is None or entry["time"] > last:
        profile["last_active"] = entry["time"]
