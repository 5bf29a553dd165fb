"""activity: windows, counting once per event id, summary ids and cycle times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from services.activity.windows import add, cycle_times, event_time, summary_id, window_of

T = datetime(2026, 11, 23, 13, 45, tzinfo=UTC)


def _ev(eid: str) -> SimpleNamespace:
    return SimpleNamespace(meta=SimpleNamespace(id=eid, time=T), posted_at=T)


def test_windows_align_to_utc_days_and_hours() -> None:
    assert window_of(T, timedelta(days=1)) == (datetime(2026, 11, 23, tzinfo=UTC),
                                               datetime(2026, 11, 24, tzinfo=UTC))
    assert window_of(T, timedelta(hours=1))[0] == datetime(2026, 11, 23, 13, tzinfo=UTC)


def test_event_time_prefers_the_payload() -> None:
    e = SimpleNamespace(meta=SimpleNamespace(time=T + timedelta(days=3)), posted_at=T)
    assert event_time(e) == T


def test_each_event_counts_once_and_ids_change_with_content() -> None:
    s = add(None, event=_ev("a"), start=T, end=T, entity="channel:C", limit=1, seen_at=0)
    first = summary_id("app", s)
    s = add(s, event=_ev("a"), start=T, end=T, entity="channel:C", limit=1, seen_at=1)
    assert s["n"] == 1 and summary_id("app", s) == first
    s = add(s, event=_ev("b"), start=T, end=T, entity="channel:C", limit=1, seen_at=2)
    assert s["n"] == 2 and s["ids"] == ["a"] and summary_id("app", s) != first


def test_cycle_time_stages() -> None:
    pr = {"opened_at": T.isoformat(), "first_review_at": (T + timedelta(hours=1)).isoformat(),
          "approved_at": (T + timedelta(hours=3)).isoformat()}
    assert cycle_times(pr, T + timedelta(hours=4)) == {
        "pickup_seconds": 3600, "review_seconds": 7200, "merge_seconds": 3600,
        "cycle_seconds": 14400}
    # Merged without a review: all of it is pickup.
    assert cycle_times({"opened_at": T.isoformat()}, T + timedelta(hours=2))["pickup_seconds"] \
        == 7200
