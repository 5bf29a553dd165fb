"""Recurring schedules: cron expressions or a friendly form, evaluated in a time zone.

Accepted forms (time zone last and optional, default UTC; or pass ``tz=``)::

    weekdays 09:00 Europe/Berlin        ->  0 9 * * 1-5   in Europe/Berlin
    daily 07:30 | every day at 07:30    ->  30 7 * * *
    weekends 10:00 America/New_York     ->  0 10 * * 0,6
    mon,wed,fri 18:15 | mon-thu 08:00   ->  15 18 * * mon,wed,fri
    every 15 minutes                    ->  */15 * * * *
    0 9 * * 1-5 Europe/Berlin           ->  a 5-field cron expression as is

Schedules follow the wall clock of their zone (``croniter`` iterates local times, ``zoneinfo``
maps them to instants). Across daylight-saving changes: a local time that does not exist (the
spring gap, e.g. 02:30 in Europe/Berlin on the last Sunday of March) fires at the same offset
after the gap (03:30); a local time that occurs twice (the autumn repeat) fires once, at its
first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from agentstream.errors import ScheduleError

__all__ = ["CronSchedule"]

_DAYS = {
    "daily": "*",
    "day": "*",
    "weekdays": "1-5",
    "weekday": "1-5",
    "weekends": "0,6",
    "weekend": "0,6",
}
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EVERY = re.compile(r"^every (\d{1,2}) minutes?$")
_FORMS = (
    "'weekdays 09:00 Europe/Berlin', 'daily 07:30', 'weekends 10:00 UTC', "
    "'mon,wed,fri 18:15', 'mon-thu 08:00', 'every 15 minutes', or a 5-field cron expression "
    "such as '0 9 * * 1-5' (time zone last, optional)"
)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None


def _looks_like_zone(token: str) -> bool:
    if "/" in token and not token.startswith("*"):
        return True  # a misspelt 'Europe/Berln' is then reported as an unknown zone
    try:
        ZoneInfo(token)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _day_field(text: str) -> str | None:
    if text in _DAYS:
        return _DAYS[text]
    parts = re.split(r"([,-])", text)
    if all(p in ",-" or p[:3] in _DAY_NAMES for p in parts):
        return "".join(p if p in ",-" else p[:3] for p in parts)
    return None


def _friendly(text: str) -> str | None:
    """The cron expression of a friendly form (time zone already removed), or None."""
    t = " ".join(text.lower().split())
    every = _EVERY.match(t)
    if every:
        n = int(every.group(1))
        if not 1 <= n <= 59:
            raise ScheduleError(f"'every N minutes' needs 1 <= N <= 59, got {n}")
        return f"*/{n} * * * *"
    t = t.removeprefix("every ").replace(" at ", " ")
    if t.startswith("day "):
        t = "daily " + t[4:]
    words = t.split(" ")
    if len(words) != 2:
        return None
    days, clock = words
    m = _TIME.match(clock)
    day_field = _day_field(days)
    if m is None or day_field is None:
        return None
    return f"{int(m.group(2))} {int(m.group(1))} * * {day_field}"


@dataclass(frozen=True)
class CronSchedule:
    """A recurring schedule: a 5-field cron ``expression`` evaluated in time zone ``tz``."""

    expression: str
    tz: str = "UTC"

    def __post_init__(self) -> None:
        _zone(self.tz)
        if len(self.expression.split()) != 5 or not croniter.is_valid(self.expression):
            raise ScheduleError(f"invalid cron expression {self.expression!r}; accepted: {_FORMS}")

    @classmethod
    def parse(cls, spec: str, *, tz: str | None = None) -> CronSchedule:
        """Parse a friendly or cron form (see the module docstring).

        A zone written in ``spec`` and a different ``tz=`` is an error; with neither, UTC.
        """
        tokens = spec.split()
        if not tokens:
            raise ScheduleError(f"empty schedule; accepted: {_FORMS}")
        zone_in_spec = None
        if len(tokens) > 1 and not _TIME.match(tokens[-1]) and _looks_like_zone(tokens[-1]):
            zone_in_spec = tokens.pop()
        if zone_in_spec and tz and _zone(zone_in_spec) != _zone(tz):
            raise ScheduleError(f"schedule {spec!r} names zone {zone_in_spec!r} but tz={tz!r}")
        zone = zone_in_spec or tz or "UTC"
        body = " ".join(tokens)
        expr = _friendly(body)
        if expr is None:
            if len(tokens) != 5:
                raise ScheduleError(f"cannot read schedule {spec!r}; accepted: {_FORMS}")
            expr = body
        return cls(expr, zone)

    def next_after(self, after: datetime) -> datetime:
        """The first occurrence strictly after ``after`` (an aware datetime), in UTC."""
        if after.tzinfo is None:
            raise ScheduleError("next_after needs an aware datetime (e.g. datetime.now(UTC))")
        zone = ZoneInfo(self.tz)
        it = croniter(self.expression, after.astimezone(zone).replace(tzinfo=None))
        # Local wall times repeat or vanish around DST changes, so the first local candidate
        # may map to an instant not after ``after``; a handful of tries always suffices.
        for _ in range(1000):
            local: datetime = it.get_next(datetime)
            candidate = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
            if candidate > after:
                return candidate
        raise ScheduleError(f"schedule {self} has no occurrence after {after}")

    def __str__(self) -> str:
        return f"{self.expression} {self.tz}"
