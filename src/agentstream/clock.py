"""The time the runtime reads: wall-clock now, and sleeps (retry delays, timers, durable sleeps).

Production code asks ``clock()`` rather than ``datetime.now`` / ``asyncio.sleep`` wherever time
decides behaviour, so tests can swap in a ``VirtualClock`` (``use_clock``) and move time by hand:
a retry after 30 s or a timer due tomorrow then runs at once and deterministically, without a
real sleep. The clock is process-wide (the runtime's threads and the loop see the same one).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SystemClock", "VirtualClock", "clock", "use_clock"]


class Clock(Protocol):
    """What the runtime needs of time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (0 or less: yield once)."""
        ...


class SystemClock:
    """The real clock: ``datetime.now(UTC)`` and ``asyncio.sleep``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock that only moves when told (``advance``/``advance_to``); for deterministic tests.

    ``sleep`` parks the caller until the clock has been advanced past its deadline; sleepers
    wake in deadline order, each on its own event loop (any loop may sleep on it).
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware start time (tzinfo=UTC)")
        self._now = start
        self._seq = itertools.count()
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._sleepers, (self._now + timedelta(seconds=seconds), next(self._seq), fut)
        )
        await fut

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting for time to move."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def next_deadline(self) -> datetime | None:
        """When the earliest waiting sleep ends (None: nobody sleeps)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, by: timedelta) -> int:
        """Move time forward by ``by``; returns how many sleeps were woken."""
        if by < timedelta(0):
            raise ValueError(f"time cannot go back (advance by {by})")
        return self.advance_to(self._now + by)

    def advance_to(self, when: datetime) -> int:
        """Move time forward to ``when`` (never back); wake every sleep due by then."""
        if when < self._now:
            raise ValueError(f"time cannot go back from {self._now} to {when}")
        self._now = when
        woken = 0
        while self._sleepers and self._sleepers[0][0] <= when:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.get_loop().call_soon_threadsafe(_wake, fut)
                woken += 1
        return woken


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_current: Clock = SystemClock()


def clock() -> Clock:
    """The clock the runtime reads now."""
    return _current


@contextmanager
def use_clock(new: Clock) -> Iterator[Clock]:
    """Use ``new`` as the process's clock inside the block (tests)."""
    global _current  # noqa: PLW0603 - one process-wide clock, swapped only by tests
    saved, _current = _current, new
    try:
        yield new
    finally:
        _current = saved
