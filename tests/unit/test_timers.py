"""Schedules (friendly and cron forms, time zones, DST) and timer records, without a broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentstream.config import KafkaSettings
from agentstream.errors import ScheduleError
from agentstream.workflow import CronSchedule, Timer, TimerService

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("spec", "expression", "tz"),
    [
        ("weekdays 09:00 Europe/Berlin", "0 9 * * 1-5", "Europe/Berlin"),
        ("daily 07:30", "30 7 * * *", "UTC"),
        ("every day at 7:05", "5 7 * * *", "UTC"),
        ("weekends 10:00 America/New_York", "0 10 * * 0,6", "America/New_York"),
        ("mon,wed,fri 18:15", "15 18 * * mon,wed,fri", "UTC"),
        ("Monday 09:00 UTC", "0 9 * * mon", "UTC"),
        ("mon-thu 08:00", "0 8 * * mon-thu", "UTC"),
        ("every 15 minutes", "*/15 * * * *", "UTC"),
        ("0 9 * * 1-5 Europe/Berlin", "0 9 * * 1-5", "Europe/Berlin"),
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI", "UTC"),
    ],
)
def test_friendly_and_cron_forms(spec: str, expression: str, tz: str) -> None:
    assert CronSchedule.parse(spec) == CronSchedule(expression, tz)


@pytest.mark.parametrize(
    ("spec", "tz", "match"),
    [
        ("weekdays 09:00 Europe/Berln", None, "unknown time zone"),
        ("sometimes 09:00", None, "cannot read schedule"),
        ("weekdays 25:00", None, "cannot read schedule"),
        ("61 * * * *", None, "invalid cron"),
        ("", None, "empty"),
        ("daily 09:00 Europe/Berlin", "UTC", "names zone"),
        ("every 0 minutes", None, "1 <= N <= 59"),
    ],
)
def test_bad_schedules_say_what_is_accepted(spec: str, tz: str | None, match: str) -> None:
    with pytest.raises(ScheduleError, match=match):
        CronSchedule.parse(spec, tz=tz)


def test_weekdays_in_berlin_skip_the_weekend_across_the_spring_dst_change() -> None:
    s = CronSchedule.parse("weekdays 09:00 Europe/Berlin")
    friday_after = datetime(2025, 3, 28, 10, 0, tzinfo=BERLIN)  # CET, UTC+1
    monday = s.next_after(friday_after)
    assert monday.astimezone(BERLIN) == datetime(2025, 3, 31, 9, 0, tzinfo=BERLIN)
    assert monday == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    before = s.next_after(datetime(2025, 3, 28, 7, 59, tzinfo=UTC))
    assert before == datetime(2025, 3, 28, 8, 0, tzinfo=UTC)  # still CET


def test_local_time_in_the_spring_gap_fires_after_the_gap() -> None:
    s = CronSchedule("30 2 * * *", "Europe/Berlin")
    # 2025-03-30 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00).
    got = s.next_after(datetime(2025, 3, 29, 12, 0, tzinfo=UTC))
    assert got == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert s.next_after(got) == datetime(2025, 3, 31, 0, 30, tzinfo=UTC)


def test_repeated_autumn_time_fires_once() -> None:
    s = CronSchedule("30 2 * * *", "Europe/Berlin")
    first = s.next_after(datetime(2025, 10, 25, 12, 0, tzinfo=UTC))
    assert first == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST, first occurrence
    # From inside the repeated hour (02:10 CET, the second pass) the next is the next day.
    second_pass = datetime(2025, 10, 26, 1, 10, tzinfo=UTC)
    assert s.next_after(second_pass) == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)
    assert s.next_after(first) == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)


def test_next_after_needs_an_aware_time() -> None:
    with pytest.raises(ScheduleError, match="aware"):
        CronSchedule.parse("daily 09:00").next_after(datetime(2025, 1, 1))


def test_timer_record_round_trips_and_fire_id_is_deterministic() -> None:
    due = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    t = Timer("svc", "t1", due, b"\x00payload", topic="out", key="k", cron="0 9 * * *", tz="UTC")
    back = Timer.from_bytes(t.to_bytes())
    assert back == t
    assert back.fire_id == t.fire_id
    later = Timer("svc", "t1", due + timedelta(days=1))
    assert later.fire_id != t.fire_id  # each occurrence of a schedule is its own firing
    assert Timer("other", "t1", due).fire_id != t.fire_id


class _Writes:
    """Records each ``write`` call's topics; ``transactional`` as the producer it stands for."""

    def __init__(self, transactional: bool) -> None:
        self.transactional = transactional
        self.calls: list[list[str]] = []

    async def write(self, records: list[Any]) -> None:
        self.calls.append([r.topic for r in records])


@pytest.mark.parametrize("transactional", [False, True])
def test_a_firing_is_acknowledged_before_its_done_record_unless_one_transaction_holds_both(
    transactional: bool,
) -> None:
    # Written together at-least-once, a crash could keep the done record and lose the delivery:
    # the timer would never fire again.
    svc = TimerService("svc", settings=KafkaSettings(bootstrap_servers="127.0.0.1:1"),
                       create_topics=False)
    writes = _Writes(transactional)
    svc._shared = writes  # type: ignore[assignment]
    timer = Timer("svc", "t1", datetime(2026, 1, 1, tzinfo=UTC), b"payload", topic="out")
    svc._timers[timer.timer_id] = timer
    asyncio.run(svc._fire(timer, 0))
    if transactional:
        assert writes.calls == [["out", svc.topic]]
    else:
        assert writes.calls == [["out"], [svc.topic]]
