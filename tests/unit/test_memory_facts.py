"""Bi-temporal facts: supersede (close) instead of delete; 'as of' valid time, 'as known at'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.test_memory import FakeLog

from agentstream.errors import FactOrderError
from agentstream.memory import (
    Fact,
    FactAssertion,
    FactStoreSpec,
    StoreManager,
    as_of,
    assert_fact,
    memory_route,
    retract_fact,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def d(days: int) -> datetime:
    return T0 + timedelta(days=days)


def test_new_fact_closes_the_old_one_without_deleting_it() -> None:
    facts = assert_fact([], "alice", d(0), recorded_at=d(0))
    facts = assert_fact(facts, "bob", d(10), recorded_at=d(12))
    # Now: alice owned it in [0, 10), bob from 10 on.
    assert as_of(facts, d(5)).value == "alice"  # type: ignore[union-attr]
    assert as_of(facts, d(11)).value == "bob"  # type: ignore[union-attr]
    closed = as_of(facts, d(5))
    assert closed is not None and closed.valid_to == d(10)
    # As known at day 11 (before the change was recorded), alice still owned it on day 11.
    assert as_of(facts, d(11), known_at=d(11)).value == "alice"  # type: ignore[union-attr]
    # Before anything was recorded, nothing was known.
    assert as_of(facts, d(5), known_at=d(-1)) is None
    # The original open-ended alice fact is kept, superseded at the record time of bob.
    originals = [f for f in facts if f.superseded_at is not None]
    assert len(originals) == 1
    assert originals[0].value == "alice" and originals[0].valid_to is None
    assert originals[0].superseded_at == d(12)


def test_bounded_fact_in_the_middle_splits_the_old_one() -> None:
    facts = assert_fact([], "green", d(0), recorded_at=d(0))
    facts = assert_fact(facts, "red", d(3), valid_to=d(5), recorded_at=d(6))
    assert [as_of(facts, d(x)).value for x in (1, 3, 4, 5, 9)] == [  # type: ignore[union-attr]
        "green", "red", "red", "green", "green"
    ]
    assert as_of(facts, d(4), known_at=d(5)).value == "green"  # type: ignore[union-attr]


def test_retract_closes_without_replacement() -> None:
    facts = assert_fact([], 1, d(0), recorded_at=d(0))
    facts = retract_fact(facts, d(7), recorded_at=d(8))
    assert as_of(facts, d(6)).value == 1  # type: ignore[union-attr]
    assert as_of(facts, d(7)) is None
    assert as_of(facts, d(7), known_at=d(7)).value == 1  # type: ignore[union-attr]


def test_record_time_only_moves_forward_and_times_must_be_aware() -> None:
    facts = assert_fact([], 1, d(0), recorded_at=d(5))
    with pytest.raises(FactOrderError, match="only moves forward"):
        assert_fact(facts, 2, d(1), recorded_at=d(4))
    with pytest.raises(ValueError, match="timezone-aware"):
        assert_fact(facts, 2, datetime(2024, 1, 2), recorded_at=d(6))
    with pytest.raises(ValueError, match="after valid_from"):
        assert_fact(facts, 2, d(3), valid_to=d(3), recorded_at=d(6))


def test_json_round_trip() -> None:
    facts = assert_fact([], {"x": [1, 2]}, d(0), recorded_at=d(0))
    facts = assert_fact(facts, {"x": []}, d(2), recorded_at=d(3))
    assert [Fact.from_json(f.to_json()) for f in facts] == facts


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(1, 10) | st.none(), st.integers(0, 99)),
        min_size=1,
        max_size=12,
    ),
    st.integers(-1, 45),
)
def test_current_knowledge_matches_a_naive_timeline(
    ops: list[tuple[int, int | None, int]], probe: int
) -> None:
    """Applying assertions in record order equals painting a day-by-day timeline."""
    facts: list[Fact] = []
    timeline: dict[int, int] = {}
    snapshots: list[tuple[int, dict[int, int]]] = []
    for rec, (start, length, value) in enumerate(ops):
        end = None if length is None else start + length
        facts = assert_fact(
            facts, value, d(start), valid_to=None if end is None else d(end), recorded_at=d(rec)
        )
        for day in range(start, 50 if end is None else end):
            timeline[day] = value
        snapshots.append((rec, dict(timeline)))
    got = as_of(facts, d(probe))
    assert (got.value if got else None) == timeline.get(probe)
    # And what was known at each earlier record time is what the timeline was then.
    for rec, past in snapshots:
        then = as_of(facts, d(probe), known_at=d(rec))
        assert (then.value if then else None) == past.get(probe)
    # At any (valid, known) point at most one fact applies.
    for rec, _ in snapshots:
        assert sum(1 for f in facts if f.valid_at(d(probe)) and f.known_at(d(rec))) <= 1


def test_fact_store_persists_through_the_changelog_and_restores() -> None:
    log = FakeLog()

    def fact_of(e: dict[str, object]) -> FactAssertion | None:
        return FactAssertion(
            key=str(e["pr"]), value=e["owner"], valid_from=e["at"],  # type: ignore[arg-type]
            recorded_at=e["at"],  # type: ignore[arg-type]
        )

    spec = FactStoreSpec("owners", fact_of=fact_of)
    m = StoreManager("agent1", [spec], writer=log, source=log)
    m.assign_blocking([0])
    m.apply({"pr": "pr-1", "owner": "alice", "at": d(0)}, 0)
    m.apply({"pr": "pr-1", "owner": "bob", "at": d(10)}, 0)
    fact = m.facts("owners").assert_fact("pr-2", "carol", d(1), 0, recorded_at=d(2))
    assert fact.value == "carol" and fact.valid_from == d(1)
    m.close()

    again = StoreManager("agent1", [spec], writer=log, source=log)
    again.assign_blocking([0])
    owners = again.facts("owners")
    assert owners.as_of("pr-1", d(5)).value == "alice"  # type: ignore[union-attr]
    assert owners.as_of("pr-1", d(11)).value == "bob"  # type: ignore[union-attr]
    assert owners.as_of("pr-1", d(11), known_at=d(9)).value == "alice"  # type: ignore[union-attr]
    assert owners.current("pr-2").value == "carol"  # type: ignore[union-attr]
    assert len(owners.history("pr-1")) == 3
    route = memory_route(again)
    query = {"valid_at": [d(11).isoformat()], "known_at": [d(9).isoformat()]}
    status, body = route("owners/pr-1", query)
    assert status == 200 and body["fact"]["value"] == "alice"
    status, body = route("owners/pr-1", {})
    assert status == 200 and len(body["facts"]) == 3
    assert route("owners/pr-1", {"valid_at": ["not a time"]})[0] == 400
    assert again.forget("owners", "pr-1") == 0
    assert owners.history("pr-1") == []
    again.close()
