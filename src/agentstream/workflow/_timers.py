"""Durable timers and schedules, persisted in a compacted topic (default ``workflows.timers``).

A timer is one record: key ``<service>/<timer id>``, value = due time, payload, where to deliver
it and, for a schedule, its cron expression and zone. A one-shot timer that fired or was
cancelled is replaced by a small *done* record (``{"done": "fired"|"cancelled"}``), kept for
``done_retention`` (default 7 days, then tombstoned at the next ``open``), so that its identity
is decided once: ``schedule(..., if_exists="keep")`` — what ``ctx.schedule`` uses, so that a
redelivered input finds the timer it scheduled — leaves a pending, fired or cancelled timer as it
was instead of arming it again with a new due time. On ``open`` the service reads the topic to
the end and arms its timers; one that came due while everything was down fires at once.

Firing delivers first, then records: the payload is produced to the timer's topic and/or handed
to ``on_fire``, THEN the done record (one-shot) or the next occurrence (schedule) is written —
without ``on_fire`` both in one write. Each firing carries a deterministic ``fire_id`` (derived
from timer id + due time, header ``agentstream.timer.fire_id``) that is the same on a re-fire.
With ``exactly_once=True`` (agents in exactly-once mode) every write is a Kafka transaction, so
the delivered payload and the done record become visible together: a read_committed reader sees
each firing once even when the process dies mid-firing. Otherwise a crash between the two
writes fires the timer again on restart (at-least-once, with the same ``fire_id`` and payload,
so a consumer that deduplicates by either sees it once). Schedules that missed several
occurrences while down fire once on start (not once per missed occurrence), then continue.

One ``TimerService`` instance per service name is expected to run at a time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Literal

from agentstream.config import KafkaSettings
from agentstream.errors import ScheduleError
from agentstream.ops.metrics import TIMERS_FIRED
from agentstream.policy import RetryPolicy
from agentstream.workflow._cron import CronSchedule
from agentstream.workflow._kafka import AckedProducer, OutRecord, ensure_topic, read_compacted

__all__ = ["FiredTimer", "Timer", "TimerService", "read_timers"]

log = logging.getLogger("agentstream.workflow.timers")

_NS = uuid.UUID("0d8e1f6a-77b4-4b7b-8f0e-2b3c9f5e4a20")
# A failing delivery is retried (it must not be lost): 1 s, 2 s, ... capped at one minute.
_FIRE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True)
class Timer:
    """A stored timer. ``due`` is UTC; ``cron``/``tz`` are set for a recurring schedule."""

    service: str
    timer_id: str
    due: datetime
    payload: bytes = b""
    topic: str | None = None
    key: str | None = None
    cron: str | None = None
    tz: str | None = None

    @property
    def record_key(self) -> str:
        return f"{self.service}/{self.timer_id}"

    @property
    def fire_id(self) -> str:
        """Deterministic id of this firing: the same if a crash makes it fire again."""
        return str(uuid.uuid5(_NS, f"{self.record_key}@{_ms(self.due)}"))

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "v": 1,
                "service": self.service,
                "timer_id": self.timer_id,
                "due_ms": _ms(self.due),
                "payload": base64.b64encode(self.payload).decode(),
                "topic": self.topic,
                "key": self.key,
                "cron": self.cron,
                "tz": self.tz,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Timer:
        d = json.loads(data)
        if not isinstance(d, dict) or d.get("v") != 1:
            raise ValueError(f"not a timer record: {data[:80]!r}")
        return cls(
            service=d["service"],
            timer_id=d["timer_id"],
            due=datetime.fromtimestamp(d["due_ms"] / 1000, tz=UTC),
            payload=base64.b64decode(d["payload"]),
            topic=d.get("topic"),
            key=d.get("key"),
            cron=d.get("cron"),
            tz=d.get("tz"),
        )


@dataclass(frozen=True)
class _Done:
    """A one-shot timer that fired or was cancelled (kept so that it is not armed again)."""

    service: str
    timer_id: str
    done: Literal["fired", "cancelled"]
    at: datetime

    @property
    def record_key(self) -> str:
        return f"{self.service}/{self.timer_id}"

    def to_bytes(self) -> bytes:
        return json.dumps(
            {"v": 1, "service": self.service, "timer_id": self.timer_id, "done": self.done,
             "at_ms": _ms(self.at)},
            separators=(",", ":"),
        ).encode()


def _parse(data: bytes) -> Timer | _Done:
    """A stored timer, or the done record of a one-shot timer; ValueError for anything else."""
    try:
        d = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"not a timer record: {data[:80]!r}") from exc
    if isinstance(d, dict) and d.get("v") == 1 and d.get("done") in ("fired", "cancelled"):
        return _Done(d["service"], d["timer_id"], d["done"],
                     datetime.fromtimestamp(d["at_ms"] / 1000, tz=UTC))
    return Timer.from_bytes(data)


@dataclass(frozen=True)
class FiredTimer:
    """What ``on_fire`` receives. ``fire_id`` is stable across re-fires of the same due time."""

    timer_id: str
    fire_id: str
    due: datetime
    payload: bytes
    key: str | None
    recurring: bool


FireCallback = Callable[[FiredTimer], Awaitable[None]]


def read_timers(
    settings: KafkaSettings | None = None,
    *,
    topic: str = "workflows.timers",
    timeout: timedelta = timedelta(seconds=30),
) -> list[Timer]:
    """Every pending timer in ``topic`` (prefixed by ``settings.topic_prefix``), by due time."""
    settings = settings or KafkaSettings()
    stored = read_compacted(
        settings.client_config(), settings.topic_prefix + topic, timeout=timeout
    )
    timers = []
    for value in stored.values():
        try:
            parsed = _parse(value)
        except (ValueError, KeyError):
            continue
        if isinstance(parsed, Timer):
            timers.append(parsed)
    return sorted(timers, key=lambda t: t.due)


class TimerService:
    """Durable one-shot timers and recurring schedules for one service.

    ``on_fire`` (optional) is awaited for every firing; a timer with a ``topic`` is also
    produced there (key = the timer's ``key`` or id, value = its payload). ``topic`` is the
    compacted store, default ``workflows.timers`` (prefixed by ``settings.topic_prefix``; created
    with ``partitions`` partitions if missing and ``create_topics``). ``ack_timeout`` (30 s)
    bounds every write, ``read_timeout`` (60 s) the read at ``open``. ``exactly_once``: every
    write is a transaction (transactional id ``agentstream.timers.<name>``, which also fences a
    second instance). ``done_retention``: how long fired and cancelled one-shot timers are
    remembered.
    """

    def __init__(
        self,
        name: str,
        *,
        settings: KafkaSettings | None = None,
        topic: str = "workflows.timers",
        on_fire: FireCallback | None = None,
        create_topics: bool = True,
        partitions: int = 3,
        ack_timeout: timedelta = timedelta(seconds=30),
        read_timeout: timedelta = timedelta(seconds=60),
        exactly_once: bool = False,
        done_retention: timedelta = timedelta(days=7),
    ) -> None:
        if not name or "/" in name:
            raise ScheduleError(f"timer service name {name!r} must be non-empty without '/'")
        self.name = name
        self.settings = settings or KafkaSettings()
        self.topic = self.settings.topic_prefix + topic
        self._on_fire = on_fire
        self._create_topics = create_topics
        self._partitions = partitions
        self._read_timeout = read_timeout
        self._done_retention = done_retention
        self._producer = AckedProducer(
            self.settings.client_config(),
            ack_timeout=ack_timeout,
            transactional_id=(
                f"{self.settings.topic_prefix}agentstream.timers.{name}" if exactly_once else None
            ),
        )
        self._timers: dict[str, Timer] = {}
        self._done: dict[str, _Done] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._opened = False

    async def __aenter__(self) -> TimerService:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Read the timers topic to the end and arm this service's timers (overdue fire now)."""
        if self._opened:
            return
        config = self.settings.client_config()
        if self._create_topics:
            await asyncio.to_thread(
                ensure_topic, config, self.topic, partitions=self._partitions,
                timeout=self._read_timeout,
            )
        await self._producer.open()
        stored = await asyncio.to_thread(
            read_compacted, config, self.topic, timeout=self._read_timeout
        )
        self._opened = True
        prefix = f"{self.name}/"
        horizon = datetime.now(UTC) - self._done_retention
        expired: list[OutRecord] = []
        for key, value in stored.items():
            if not key.startswith(prefix):
                continue
            try:
                parsed = _parse(value)
            except (ValueError, KeyError) as exc:
                log.warning("skipping unreadable timer %r on %s: %s", key, self.topic, exc)
                continue
            if isinstance(parsed, Timer):
                self._arm(parsed)
            elif parsed.at < horizon:
                expired.append(OutRecord(self.topic, key, None))
            else:
                self._done[parsed.timer_id] = parsed
        if expired:  # fired or cancelled long enough ago: forget them for good
            await self._producer.write(expired)

    async def close(self) -> None:
        """Disarm (not cancel) every timer; they stay stored and fire after the next ``open``."""
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self._producer.close()
        self._opened = False

    def pending(self) -> list[Timer]:
        """This service's armed timers, by due time."""
        return sorted(self._timers.values(), key=lambda t: t.due)

    async def schedule(
        self,
        payload: bytes = b"",
        *,
        at: datetime | None = None,
        after: timedelta | None = None,
        timer_id: str | None = None,
        topic: str | None = None,
        key: str | None = None,
        if_exists: Literal["replace", "keep"] = "replace",
    ) -> str:
        """Fire once at ``at`` (aware datetime) or ``after`` from now; returns the timer id.

        Returns once the timer is stored (acknowledged). Scheduling an existing ``timer_id``
        replaces that timer (``if_exists="replace"``), or, with ``if_exists="keep"``, leaves a
        timer of that id that is pending, fired or cancelled as it is (its due time and firing
        are decided once). ``timer_id`` defaults to a random id.
        """
        if (at is None) == (after is None):
            raise ScheduleError("schedule() needs exactly one of at= (a datetime) or after=")
        if at is not None and at.tzinfo is None:
            raise ScheduleError("at= must be time-zone aware, e.g. datetime(..., tzinfo=UTC)")
        if if_exists == "keep" and timer_id is not None and (
            timer_id in self._timers or timer_id in self._done
        ):
            self._need_open()
            return timer_id
        due = at.astimezone(UTC) if at is not None else datetime.now(UTC) + (after or timedelta())
        timer = Timer(self.name, timer_id or str(uuid.uuid4()), due, payload, topic, key)
        await self._store(timer)
        return timer.timer_id

    async def schedule_cron(
        self,
        spec: str,
        payload: bytes = b"",
        *,
        tz: str | None = None,
        timer_id: str | None = None,
        topic: str | None = None,
        key: str | None = None,
    ) -> str:
        """Fire at every occurrence of ``spec`` ('weekdays 09:00 Europe/Berlin', '0 9 * * 1-5').

        ``timer_id`` defaults to one derived from the schedule, payload and topic, so declaring
        the same schedule on every start is idempotent: an occurrence that came due while the
        service was down is kept (and fires) rather than pushed to the next one.
        """
        cron = CronSchedule.parse(spec, tz=tz)
        tid = timer_id or str(
            uuid.uuid5(_NS, f"{cron}|{topic}|{key}|{base64.b64encode(payload).decode()}")
        )
        existing = self._timers.get(tid)
        if existing and (existing.cron, existing.tz, existing.payload, existing.topic,
                         existing.key) == (cron.expression, cron.tz, payload, topic, key):
            return tid
        due = cron.next_after(datetime.now(UTC))
        await self._store(Timer(self.name, tid, due, payload, topic, key, cron.expression, cron.tz))
        return tid

    async def cancel(self, timer_id: str) -> bool:
        """Cancel a timer (a one-shot one is then remembered as cancelled, a schedule
        tombstoned); False if this service had no such timer."""
        self._need_open()
        timer = self._timers.pop(timer_id, None)
        task = self._tasks.pop(timer_id, None)
        if task is not None:
            task.cancel()
        if timer is not None and timer.cron is not None:
            value = None
        else:
            done = self._done[timer_id] = _Done(self.name, timer_id, "cancelled", datetime.now(UTC))
            value = done.to_bytes()
        await self._producer.write([OutRecord(self.topic, f"{self.name}/{timer_id}", value)])
        return timer is not None

    def _need_open(self) -> None:
        if not self._opened:
            raise RuntimeError("TimerService is not open: use `async with` or await open()")

    async def _store(self, timer: Timer) -> None:
        self._need_open()
        await self._producer.write([OutRecord(self.topic, timer.record_key, timer.to_bytes())])
        self._arm(timer)

    def _arm(self, timer: Timer) -> None:
        old = self._tasks.pop(timer.timer_id, None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        self._timers[timer.timer_id] = timer
        self._done.pop(timer.timer_id, None)
        self._tasks[timer.timer_id] = asyncio.create_task(
            self._wait_and_fire(timer), name=f"timer-{timer.record_key}"
        )

    async def _wait_and_fire(self, timer: Timer) -> None:
        delay = (timer.due - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._fire(timer)
                return
            except Exception as exc:  # a firing must not be lost: retry it
                wait = _FIRE_RETRY.next_delay(exc, attempt)
                log.warning("timer %s failed to fire (%s); retrying in %s",
                            timer.record_key, exc, wait)
                await asyncio.sleep(wait.total_seconds())

    async def _fire(self, timer: Timer) -> None:
        delivery: list[OutRecord] = []
        if timer.topic is not None:
            headers = [
                ("agentstream.timer.fire_id", timer.fire_id.encode()),
                ("agentstream.timer.id", timer.timer_id.encode()),
                ("agentstream.timer.due", timer.due.isoformat().encode()),
            ]
            delivery.append(
                OutRecord(timer.topic, timer.key or timer.timer_id, timer.payload, headers)
            )
        if self._on_fire is not None:
            if delivery:
                await self._producer.write(delivery)
                delivery = []
            await self._on_fire(FiredTimer(
                timer.timer_id, timer.fire_id, timer.due, timer.payload, timer.key,
                recurring=timer.cron is not None,
            ))
        if self._timers.get(timer.timer_id) is not timer:
            # Cancelled or replaced while firing: its record was already rewritten.
            if delivery:
                await self._producer.write(delivery)
            TIMERS_FIRED.labels(self.name).inc()
            return
        if timer.cron is None:
            done = _Done(self.name, timer.timer_id, "fired", datetime.now(UTC))
            # The delivery and the done record in one write (one transaction, exactly-once).
            await self._producer.write(
                [*delivery, OutRecord(self.topic, timer.record_key, done.to_bytes())]
            )
            self._timers.pop(timer.timer_id, None)
            self._tasks.pop(timer.timer_id, None)
            self._done[timer.timer_id] = done
            TIMERS_FIRED.labels(self.name).inc()
            return
        cron = CronSchedule(timer.cron, timer.tz or "UTC")
        nxt = replace(timer, due=cron.next_after(max(datetime.now(UTC), timer.due)))
        await self._producer.write(
            [*delivery, OutRecord(self.topic, nxt.record_key, nxt.to_bytes())]
        )
        TIMERS_FIRED.labels(self.name).inc()
        self._arm(nxt)

