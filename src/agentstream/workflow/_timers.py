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
in one transaction with the delivery under exactly-once, after the delivery's acknowledgement
otherwise (written together, a crash could keep the done record and lose the delivery). Each
firing carries a deterministic ``fire_id`` (derived from timer id + due time, header
``agentstream.timer.fire_id``) that is the same on a re-fire.
With ``exactly_once=True`` (agents in exactly-once mode) every write is a Kafka transaction, so
the delivered payload and the done record become visible together: a read_committed reader sees
each firing once even when the process dies mid-firing. Otherwise a crash between the two
writes fires the timer again on restart (at-least-once, with the same ``fire_id`` and payload,
so a consumer that deduplicates by either sees it once). Schedules that missed several
occurrences while down fire once on start (not once per missed occurrence), then continue.

Timers are partitioned like workflow runs: a timer lives in one partition of the topic (an
agent's ``ctx.schedule`` puts it in the partition of the input being handled) and only the
owner of that partition arms it (``assign``/``revoke``, driven by the agent's consumer group);
a revoked partition's timers are disarmed, not cancelled, and armed by the next owner. Due
times are read and slept through ``agentstream.clock`` (a ``VirtualClock`` moves them in tests).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal

from confluent_kafka import KafkaException

from agentstream.clock import clock
from agentstream.config import KafkaSettings
from agentstream.errors import CheckpointError, ScheduleError
from agentstream.ops.metrics import TIMERS_FIRED
from agentstream.policy import RetryPolicy
from agentstream.workflow._cron import CronSchedule
from agentstream.workflow._kafka import (
    AckedProducer,
    OutRecord,
    RecordWriter,
    ensure_topic,
    partition_count,
    read_compacted,
    read_partition,
)
from agentstream.workflow._owned import OwnedPartition, PartitionOwner

__all__ = ["FiredTimer", "Timer", "TimerService", "read_timers"]

log = logging.getLogger("agentstream.workflow.timers")

# How long a partition whose load failed waits before the next try (the broker is away).
_LOAD_RETRY = (1.0, 30.0)

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


class TimerService(PartitionOwner):
    """Durable one-shot timers and recurring schedules for one service.

    ``on_fire`` (optional) is awaited for every firing; a timer with a ``topic`` is also
    produced there (key = the timer's ``key`` or id, value = its payload). ``topic`` is the
    compacted store, default ``workflows.timers`` (prefixed by ``settings.topic_prefix``; created
    with ``partitions`` partitions if missing and ``create_topics``). ``ack_timeout`` (30 s)
    bounds every write, ``read_timeout`` (60 s) the read of a partition.
    ``done_retention``: how long fired and cancelled one-shot timers are remembered.

    **Partitions.** A timer lives in one partition of the topic (``schedule(...,
    partition=p)``; default the timer id's hash). With ``partitioned=True`` the service owns no
    partition after ``open``: ``assign(ps)`` loads and arms the timers of ``ps`` (in the
    background; ``await ready()``), ``revoke(ps)`` disarms them (not cancelled: they stay
    stored and the next owner arms them). Without it ``open`` owns every partition.
    ``exactly_once``: every write of a partition is a transaction of its own transactional id,
    ``<transactional_prefix>.<topic>.<partition>`` (default prefix
    ``agentstream.timers.<name>``), so a firing and its done record commit together and the next
    owner of a partition fences the previous one.
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
        partitioned: bool = False,
        transactional_prefix: str | None = None,
    ) -> None:
        if not name or "/" in name:
            raise ScheduleError(f"timer service name {name!r} must be non-empty without '/'")
        self.name = name
        self.settings = settings or KafkaSettings()
        self.topic = self.settings.topic_prefix + topic
        self.partitioned = partitioned
        self.partition_count = partitions
        self._on_fire = on_fire
        self._create_topics = create_topics
        self._read_timeout = read_timeout
        self._ack_timeout = ack_timeout
        self._done_retention = done_retention
        self._tx_prefix = transactional_prefix or (
            f"{self.settings.topic_prefix}agentstream.timers.{name}"
        )
        self._shared = (
            None if exactly_once
            else AckedProducer(self.settings.client_config(), ack_timeout=ack_timeout)
        )
        self._parts: dict[int, OwnedPartition] = {}
        self._part_of: dict[str, int] = {}
        self._timers: dict[str, Timer] = {}
        self._done: dict[str, _Done] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._opened = False

    async def __aenter__(self) -> TimerService:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Provision the topic, connect, and (unless ``partitioned``) load and arm every
        partition's timers (overdue ones fire now)."""
        if self._opened:
            return
        config = self.settings.client_config()
        if self._create_topics:
            await asyncio.to_thread(
                ensure_topic, config, self.topic, partitions=self.partition_count,
                timeout=self._read_timeout,
            )
        count = await asyncio.to_thread(
            partition_count, config, self.topic, timeout=self._read_timeout
        )
        if count is None:
            raise ScheduleError(
                f"the timers topic {self.topic!r} does not exist; create it (agentstream topics "
                "apply) or let the service create it (create_topics=True)"
            )
        self.partition_count = count
        if self._shared is not None:
            await self._shared.open()
        self._opened = True
        if not self.partitioned:
            self.assign(range(count))
            await self.ready()

    async def close(self) -> None:
        """Disarm (not cancel) every timer; they stay stored and fire after the next ``open``."""
        await self.revoke(list(self._parts))
        if self._shared is not None:
            await self._shared.close()
        self._opened = False

    # -- partitions -------------------------------------------------------------------------------
    def assign(self, partitions: Iterable[int]) -> None:
        """Own ``partitions``: each is loaded in the background (``ready``) and its timers
        armed. Call on the event loop."""
        self._need_open()
        self._own(partitions, topic=self.topic, load=self._load, error=ScheduleError,
                  hint="the partition count of the inputs")

    def revoke(self, partitions: Iterable[int]) -> Awaitable[None]:
        """Stop owning ``partitions``: their timers are disarmed (not cancelled) and forgotten
        here at once (call on the loop); await the result for firings in progress to end."""
        return self._release(partitions, what=f"timers of {self.name}")

    def _drop_item(self, item_id: str) -> None:
        self._timers.pop(item_id, None)
        self._done.pop(item_id, None)
        self._part_of.pop(item_id, None)

    async def _load(self, part: OwnedPartition) -> None:
        delay = _LOAD_RETRY[0]
        while True:
            try:
                if self._shared is None and part.producer is None:
                    # Set before it opens: revoke closes it, which waits for the open to end
                    # (an init_transactions finishing after the next owner's would fence it).
                    part.producer = AckedProducer(
                        self.settings.client_config(),
                        transactional_id=f"{self._tx_prefix}.{self.topic}.{part.partition}",
                        ack_timeout=self._ack_timeout,
                    )
                if part.producer is not None and not part.producer.opened:
                    # init_transactions aborts what a killed owner left open, so the read
                    # below is not held back by it; it also fences that owner.
                    await part.producer.open()
                stored = await asyncio.to_thread(
                    read_partition, self.settings.client_config(), self.topic, part.partition,
                    timeout=self._read_timeout,
                )
                break
            except (CheckpointError, KafkaException) as exc:
                log.warning("timers of %s: loading partition %d failed (%s); again in %.0fs",
                            self.name, part.partition, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LOAD_RETRY[1])
        prefix = f"{self.name}/"
        horizon = clock().now() - self._done_retention
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
                self._arm(parsed, part.partition)
            elif parsed.at < horizon:
                expired.append(OutRecord(self.topic, key, None, partition=part.partition))
            else:
                self._remember_done(parsed, part.partition)
        part.ready.set()
        if expired:  # fired or cancelled long enough ago: forget them for good
            with contextlib.suppress(CheckpointError):
                await self._producer_of(part.partition).write(expired)

    def _part(self, partition: int) -> OwnedPartition:
        part = self._parts.get(partition)
        if part is None:
            raise ScheduleError(
                f"partition {partition} of {self.topic!r} is not owned by this process "
                f"(owned: {self.owned})"
            )
        return part

    async def _owned_ready(self, partition: int) -> OwnedPartition:
        part = self._part(partition)
        await part.ready.wait()
        if self._parts.get(partition) is not part:
            raise ScheduleError(f"partition {partition} of {self.topic!r} was revoked meanwhile")
        return part

    def _producer_of(self, partition: int) -> AckedProducer:
        if self._shared is not None:
            return self._shared
        producer = self._part(partition).producer
        if producer is None:
            raise ScheduleError(f"partition {partition} of {self.topic!r} is not loaded")
        return producer

    def partition_for(self, timer_id: str) -> int:
        """The partition of a timer scheduled without one: the timer id's hash."""
        return zlib.crc32(timer_id.encode()) % self.partition_count

    def pending(self) -> list[Timer]:
        """This service's armed timers (of the owned partitions), by due time."""
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
        partition: int | None = None,
        write: RecordWriter | None = None,
    ) -> str:
        """Fire once at ``at`` (aware datetime) or ``after`` from now; returns the timer id.

        Returns once the timer is stored (acknowledged). Scheduling an existing ``timer_id``
        replaces that timer (``if_exists="replace"``), or, with ``if_exists="keep"``, leaves a
        timer of that id that is pending, fired or cancelled as it is (its due time and firing
        are decided once). ``timer_id`` defaults to a random id. ``partition``: where the timer
        lives (owned; default the id's hash); ``write``: who writes the record (the agent's
        transactional producer, so that it commits with the input that scheduled it).
        """
        if (at is None) == (after is None):
            raise ScheduleError("schedule() needs exactly one of at= (a datetime) or after=")
        if at is not None and at.tzinfo is None:
            raise ScheduleError("at= must be time-zone aware, e.g. datetime(..., tzinfo=UTC)")
        self._need_open()
        tid = timer_id or str(uuid.uuid4())
        p = self.partition_for(tid) if partition is None else partition
        await self._owned_ready(p)
        if if_exists == "keep" and timer_id is not None and (
            timer_id in self._timers or timer_id in self._done
        ):
            return timer_id
        due = at.astimezone(UTC) if at is not None else clock().now() + (after or timedelta())
        timer = Timer(self.name, tid, due, payload, topic, key)
        await self._store(timer, p, write)
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
        partition: int | None = None,
    ) -> str:
        """Fire at every occurrence of ``spec`` ('weekdays 09:00 Europe/Berlin', '0 9 * * 1-5').

        ``timer_id`` defaults to one derived from the schedule, payload and topic, so declaring
        the same schedule on every start is idempotent: an occurrence that came due while the
        service was down is kept (and fires) rather than pushed to the next one.
        """
        self._need_open()
        cron = CronSchedule.parse(spec, tz=tz)
        tid = timer_id or str(
            uuid.uuid5(_NS, f"{cron}|{topic}|{key}|{base64.b64encode(payload).decode()}")
        )
        p = self.partition_for(tid) if partition is None else partition
        await self._owned_ready(p)
        existing = self._timers.get(tid)
        if existing and (existing.cron, existing.tz, existing.payload, existing.topic,
                         existing.key) == (cron.expression, cron.tz, payload, topic, key):
            return tid
        due = cron.next_after(clock().now())
        timer = Timer(self.name, tid, due, payload, topic, key, cron.expression, cron.tz)
        await self._store(timer, p, None)
        return tid

    async def cancel(
        self, timer_id: str, *, partition: int | None = None, write: RecordWriter | None = None
    ) -> bool:
        """Cancel a timer (a one-shot one is then remembered as cancelled, a schedule
        tombstoned); False if this service had no such timer. The timer is looked up in the
        owned partitions; one not found there is recorded as cancelled in ``partition`` (default
        the id's hash), so that scheduling it later with ``if_exists="keep"`` does nothing."""
        self._need_open()
        p = self._part_of.get(timer_id)
        if p is None:
            p = self.partition_for(timer_id) if partition is None else partition
        await self._owned_ready(p)
        timer = self._timers.pop(timer_id, None)
        task = self._tasks.pop(timer_id, None)
        if task is not None:
            task.cancel()
        if timer is not None and timer.cron is not None:
            value = None
            self._forget(timer_id)
        else:
            done = _Done(self.name, timer_id, "cancelled", clock().now())
            self._remember_done(done, p)
            value = done.to_bytes()
        record = OutRecord(self.topic, f"{self.name}/{timer_id}", value, partition=p)
        await (write or self._producer_of(p).write_one)(record)
        return timer is not None

    def _need_open(self) -> None:
        if not self._opened:
            raise RuntimeError("TimerService is not open: use `async with` or await open()")

    def _forget(self, timer_id: str) -> None:
        p = self._part_of.pop(timer_id, None)
        part = self._parts.get(p) if p is not None else None
        if part is not None:
            part.ids.discard(timer_id)

    def _remember_done(self, done: _Done, partition: int) -> None:
        part = self._parts.get(partition)
        if part is None:
            return
        self._done[done.timer_id] = done
        self._part_of[done.timer_id] = partition
        part.ids.add(done.timer_id)

    async def _store(self, timer: Timer, partition: int, write: RecordWriter | None) -> None:
        record = OutRecord(self.topic, timer.record_key, timer.to_bytes(), partition=partition)
        await (write or self._producer_of(partition).write_one)(record)
        if partition in self._parts:  # (revoked meanwhile: the next owner arms it)
            self._arm(timer, partition)

    def _arm(self, timer: Timer, partition: int) -> None:
        old = self._tasks.pop(timer.timer_id, None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        self._timers[timer.timer_id] = timer
        self._done.pop(timer.timer_id, None)
        self._part_of[timer.timer_id] = partition
        self._parts[partition].ids.add(timer.timer_id)
        self._tasks[timer.timer_id] = asyncio.create_task(
            self._wait_and_fire(timer, partition), name=f"timer-{timer.record_key}"
        )

    async def _wait_and_fire(self, timer: Timer, partition: int) -> None:
        # Slept through the process's clock (agentstream.clock), so tests can move time.
        delay = (timer.due - clock().now()).total_seconds()
        if delay > 0:
            await clock().sleep(delay)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._fire(timer, partition)
                return
            except Exception as exc:  # a firing must not be lost: retry it
                if isinstance(exc, CheckpointError) and exc.fatal:
                    log.error("timer %s: %s; its partition's next owner fires it",
                              timer.record_key, exc)
                    return
                wait = _FIRE_RETRY.next_delay(exc, attempt)
                log.warning("timer %s failed to fire (%s); retrying in %s",
                            timer.record_key, exc, wait)
                await asyncio.sleep(wait.total_seconds())

    async def _fire(self, timer: Timer, partition: int) -> None:
        producer = self._producer_of(partition)
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
        separate = self._on_fire is not None or not producer.transactional
        if delivery and separate:
            # At-least-once the delivery is acknowledged before the done record (or next
            # occurrence) is written: written together, a crash could leave the done record
            # without its delivery, and the timer would never fire again.
            await producer.write(delivery)
            delivery = []
        if self._on_fire is not None:
            await self._on_fire(FiredTimer(
                timer.timer_id, timer.fire_id, timer.due, timer.payload, timer.key,
                recurring=timer.cron is not None,
            ))
        if self._timers.get(timer.timer_id) is not timer:
            # Cancelled or replaced while firing: its record was already rewritten.
            if delivery:
                await producer.write(delivery)
            TIMERS_FIRED.labels(self.name).inc()
            return
        if timer.cron is None:
            done = _Done(self.name, timer.timer_id, "fired", clock().now())
            # The delivery and the done record in one write (one transaction, exactly-once).
            await producer.write([
                *delivery,
                OutRecord(self.topic, timer.record_key, done.to_bytes(), partition=partition),
            ])
            self._timers.pop(timer.timer_id, None)
            self._tasks.pop(timer.timer_id, None)
            self._remember_done(done, partition)
            TIMERS_FIRED.labels(self.name).inc()
            return
        cron = CronSchedule(timer.cron, timer.tz or "UTC")
        nxt = replace(timer, due=cron.next_after(max(clock().now(), timer.due)))
        await producer.write(
            [*delivery, OutRecord(self.topic, nxt.record_key, nxt.to_bytes(), partition=partition)]
        )
        TIMERS_FIRED.labels(self.name).inc()
        if partition in self._parts:
            self._arm(nxt, partition)
