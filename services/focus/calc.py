"""Weeks, meeting load, deep-work blocks and after-hours checks, as pure functions.

Meetings are ``{"start": ISO, "end": ISO, "id": event id, ...}`` dicts (aware times).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from services.focus.settings import FocusSettings

__all__ = ["Week", "deep_work", "meeting_minutes", "off_hours", "week_meetings", "week_of"]

Interval = tuple[datetime, datetime]


class Week:
    """An ISO week in the team's time zone: ``key`` like ``2026-W48``, UTC bounds."""

    def __init__(self, monday: date, s: FocusSettings) -> None:
        self.monday = monday
        iso = monday.isocalendar()
        self.key = f"{iso.year}-W{iso.week:02d}"
        start = datetime.combine(monday, datetime.min.time(), tzinfo=s.tz)
        self.start = start.astimezone(UTC)
        self.end = (start + timedelta(days=7)).astimezone(UTC)

    @classmethod
    def from_key(cls, key: str, s: FocusSettings) -> Week:
        year, week = key.split("-W")
        return cls(date.fromisocalendar(int(year), int(week), 1), s)


def week_of(t: datetime, s: FocusSettings) -> Week:
    local = t.astimezone(s.tz).date()
    return Week(local - timedelta(days=local.weekday()), s)


def _intervals(meetings: Iterable[Mapping[str, Any]]) -> list[Interval]:
    out = [(datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"]))
           for m in meetings]
    return sorted((a, b) for a, b in out if b > a)


def _merged(iv: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in iv:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def week_meetings(meetings: Mapping[str, Mapping[str, Any]], week: Week
                  ) -> dict[str, Mapping[str, Any]]:
    """The meetings starting in ``week``."""
    return {k: m for k, m in meetings.items()
            if week.start <= datetime.fromisoformat(m["start"]) < week.end}


def meeting_minutes(meetings: Iterable[Mapping[str, Any]]) -> int:
    """Minutes spent in meetings; overlapping meetings count once."""
    return int(sum((b - a).total_seconds() for a, b in _merged(_intervals(meetings))) // 60)


def deep_work(meetings: Iterable[Mapping[str, Any]], week: Week, s: FocusSettings
              ) -> tuple[int, int]:
    """``(blocks, minutes)``: free stretches of at least ``deep_work_min`` inside working hours
    on working days of ``week``, between meetings."""
    busy = _merged(_intervals(meetings))
    blocks = minutes = 0
    for d in range(7):
        day = week.monday + timedelta(days=d)
        if day.weekday() not in s.workdays:
            continue
        lo = datetime.combine(day, s.workday_start, tzinfo=s.tz).astimezone(UTC)
        hi = datetime.combine(day, s.workday_end, tzinfo=s.tz).astimezone(UTC)
        cursor = lo
        for a, b in busy:
            if b <= lo or a >= hi:
                continue
            if a - cursor >= s.deep_work_min:
                blocks += 1
                minutes += int((a - cursor).total_seconds() // 60)
            cursor = max(cursor, min(b, hi))
        if hi - cursor >= s.deep_work_min:
            blocks += 1
            minutes += int((hi - cursor).total_seconds() // 60)
    return blocks, minutes


def off_hours(t: datetime, s: FocusSettings) -> Literal["weekend", "after_hours"] | None:
    """Whether ``t`` is on a non-working day, outside working hours, or neither."""
    local = t.astimezone(s.tz)
    if local.weekday() not in s.workdays:
        return "weekend"
    if not s.workday_start <= local.time() < s.workday_end:
        return "after_hours"
    return None
