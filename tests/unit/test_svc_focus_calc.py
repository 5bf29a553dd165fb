"""focus: weeks, meeting minutes, deep-work blocks and working hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from services.focus.calc import Week, deep_work, meeting_minutes, off_hours, week_of
from services.focus.settings import FocusSettings

S = FocusSettings(timezone="Europe/Berlin", workday_start=time(9), workday_end=time(17))
MON = datetime(2026, 11, 23, tzinfo=S.tz)  # Monday of 2026-W48


def _m(day: int, h0: float, h1: float) -> dict[str, str]:
    a = MON + timedelta(days=day, hours=h0)
    b = MON + timedelta(days=day, hours=h1)
    return {"start": a.isoformat(), "end": b.isoformat(), "id": f"{day}-{h0}"}


def test_weeks_are_iso_weeks_in_the_team_time_zone() -> None:
    w = week_of(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), S)  # Monday 00:30 in Berlin
    assert w.key == "2026-W48" and w.start == MON.astimezone(UTC)
    assert Week.from_key("2026-W48", S).end - w.start == timedelta(days=7)


def test_overlapping_meetings_count_once() -> None:
    assert meeting_minutes([_m(0, 10, 11), _m(0, 10.5, 12)]) == 120


def test_deep_work_blocks_are_free_stretches_of_two_hours_in_working_hours() -> None:
    week = Week.from_key("2026-W48", S)
    # No meetings: one 8 h block per working day.
    assert deep_work([], week, S) == (5, 5 * 480)
    # Monday 10-11 and 13-14: 9-10 (1 h) no, 11-13 (2 h) yes, 14-17 (3 h) yes.
    blocks, minutes = deep_work([_m(0, 10, 11), _m(0, 13, 14)], week, S)
    assert (blocks, minutes) == (4 + 2, 4 * 480 + 120 + 180)
    # A meeting running past the end of the day leaves no tail.
    assert deep_work([_m(0, 9, 18)], week, S) == (4, 4 * 480)


def test_off_hours() -> None:
    assert off_hours(MON + timedelta(hours=10), S) is None
    assert off_hours(MON + timedelta(hours=20), S) == "after_hours"
    assert off_hours(MON + timedelta(days=5, hours=10), S) == "weekend"


def test_settings_reject_unknown_time_zones() -> None:
    with pytest.raises(ValueError, match="time zone"):
        FocusSettings(timezone="Mars/Olympus")
