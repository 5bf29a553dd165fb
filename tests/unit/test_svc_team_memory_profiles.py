"""team-memory's profile helpers."""

from __future__ import annotations

import pytest
from services.team_memory.profiles import add_recent, edge_key, new_person, parse_edge_key


def test_edge_keys_round_trip_and_reject_unknown_relations() -> None:
    key = edge_key("works_on", "alice", "acme/payments")
    assert key == "works_on|alice|acme/payments"
    assert parse_edge_key(key) == ("works_on", "alice", "acme/payments")
    with pytest.raises(ValueError, match="unknown relation"):
        edge_key("likes", "a", "b")


def test_recent_activity_is_newest_first_once_per_event_and_bounded() -> None:
    p = new_person("alice")
    for i, t in enumerate(["2026-11-23T10:00", "2026-11-23T09:00", "2026-11-23T11:00"]):
        add_recent(p, {"id": f"e{i}", "time": t, "what": "x", "type": "T", "entity": "e"}, 2)
    assert [e["id"] for e in p["recent"]] == ["e2", "e0"]
    assert p["last_active"] == "2026-11-23T11:00"
    add_recent(p, {"id": "e2", "time": "2026-11-23T11:00", "what": "x", "type": "T",
                   "entity": "e"}, 2)
    assert [e["id"] for e in p["recent"]] == ["e2", "e0"]
