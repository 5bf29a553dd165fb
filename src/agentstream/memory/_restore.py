"""Restore: a small explicit state machine per partition, safe against rebalances mid-restore.

    IDLE ──assign──▶ RESTORING ──all stores read to their end──▶ ACTIVE
                        │  │                                       │
                        │  └─error / deadline──▶ FAILED ──assign──▶ RESTORING
                        └─revoke──▶ REVOKED ◀──────────revoke──────┘
                                       └──assign──▶ RESTORING (a new attempt, fresh state)

Each attempt restores into fresh local state objects of its own, on a worker thread. Only when
every store of the partition is read to the end captured at the start does the attempt install its
state, under the lock, and only if it is still the partition's current attempt. A revoke (or a
newer assign) that comes first makes the attempt discard what it read. So a rebalance in the
middle of a restore can neither leave half-restored state behind nor mix two partitions' state,
the failure mode of quix-streams #1067/#1114 and faust #21/#74.

A store with a durable state directory (``RestoreJob.durable``) instead reopens the partition's
database and reads only the changelog past its local checkpoint (``agentstream.memory._persist``
states why that is exact); a missing, unreadable, stale or impossible checkpoint, or a damaged
database, means a full restore into an emptied one, with the reason logged. An attempt that is
revoked keeps what it applied (the checkpoint moved with it); only one attempt or one installed
state of a partition has its databases open at a time (a per-partition lock, handed from the
attempt to the installed state and released once a revoke closed them).
"""

from __future__ import annotations

import enum
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentstream.errors import RestoreError
from agentstream.memory._backend import LocalState
from agentstream.memory._changelog import ChangelogReader, ChangelogSource
from agentstream.memory._persist import (
    Checkpoint,
    CorruptStateError,
    PersistentState,
    now,
    record_time,
)
from agentstream.ops import metrics

__all__ = ["PartitionStatus", "RestoreJob", "RestoreStats", "Restorer"]

log = logging.getLogger("agentstream.memory")


class PartitionStatus(enum.Enum):
    """Where one partition's memory stands (see the module docstring for the transitions)."""

    IDLE = "idle"
    RESTORING = "restoring"
    ACTIVE = "active"
    REVOKED = "revoked"
    FAILED = "failed"


@dataclass(frozen=True)
class RestoreJob:
    """One store to restore: its name, changelog topic and how to make its fresh local state;
    ``durable(partition)``, when given, is the partition's durable database directory instead."""

    store: str
    topic: str
    new_state: Callable[[int], LocalState]
    durable: Callable[[int], Path] | None = None


@dataclass(frozen=True)
class RestoreStats:
    """How the last completed restore of a partition went.

    - ``records``: changelog records read (every store; a warm start reads only the tail).
    - ``seconds``: from the attempt's start to installed.
    - ``warm``: per store, True if it resumed from its local checkpoint.
    - ``reasons``: per durable store restored in full, why (e.g. ``no local checkpoint``).
    - ``reverted``: per durable store, keys whose local change never became committed (an
      aborted transaction, a crash before the acknowledgement) and got their committed value back.
    """

    partition: int
    records: int
    seconds: float
    warm: dict[str, bool]
    reasons: dict[str, str]
    reverted: dict[str, int]


@dataclass
class _Attempt:
    partition: int
    cancel: threading.Event = field(default_factory=threading.Event)
    # True: installed (ACTIVE); False: revoked or superseded before it finished.
    done: Future[bool] = field(default_factory=Future)
    restored: int = 0
    warm: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    reverted: dict[str, int] = field(default_factory=dict)


@dataclass
class _Slot:
    status: PartitionStatus = PartitionStatus.IDLE
    attempt: _Attempt | None = None
    states: dict[str, LocalState] = field(default_factory=dict)
    # Changelog topic -> offset right after the last record the installed restore read.
    ends: dict[str, int] = field(default_factory=dict)
    error: BaseException | None = None
    # True while the installed states hold the partition's directory lock (durable stores).
    dir_locked: bool = False


class Restorer:
    """Owns every partition's status and local state; restores on a small thread pool.

    ``begin(partitions)`` returns one future per partition resolving to ``True`` (restored, now
    ACTIVE), ``False`` (revoked before it finished) or raising the restore's error. All methods
    are thread-safe: rebalance callbacks run on the consumer's thread, handlers on the loop.
    """

    def __init__(
        self,
        jobs: list[RestoreJob],
        source: ChangelogSource,
        *,
        timeout: timedelta,
        concurrency: int,
        max_age: timedelta = timedelta(hours=12),
    ) -> None:
        self._jobs = jobs
        self._source = source
        self._timeout = timeout
        self._max_age = max_age
        self._lock = threading.RLock()
        self._slots: dict[int, _Slot] = {}
        self._durable = any(j.durable is not None for j in jobs)
        self._dir_locks: dict[int, threading.Lock] = {}
        self._stats: dict[int, RestoreStats] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="memory-restore"
        )
        self._closed = False

    # -- transitions -----------------------------------------------------------------------------
    def begin(self, partitions: Iterable[int]) -> dict[int, Future[bool]]:
        out: dict[int, Future[bool]] = {}
        with self._lock:
            if self._closed:
                raise RuntimeError("the StoreManager is closed")
            for p in sorted(set(partitions)):
                slot = self._slots.setdefault(p, _Slot())
                if slot.status is PartitionStatus.ACTIVE:
                    done: Future[bool] = Future()
                    done.set_result(True)
                    out[p] = done
                    continue
                if slot.status is PartitionStatus.RESTORING and slot.attempt is not None:
                    out[p] = slot.attempt.done
                    continue
                attempt = _Attempt(p)
                slot.status, slot.attempt, slot.error = PartitionStatus.RESTORING, attempt, None
                self._pool.submit(self._run, attempt)
                out[p] = attempt.done
        return out

    def revoke(self, partitions: Iterable[int]) -> None:
        """Cancel restores in progress and drop local state of ``partitions``; no I/O wait."""
        dropped: list[LocalState] = []
        unlock: list[threading.Lock] = []
        with self._lock:
            for p in set(partitions):
                slot = self._slots.get(p)
                if slot is None:
                    continue
                if slot.attempt is not None:
                    slot.attempt.cancel.set()
                    _settle(slot.attempt.done, False)
                dropped += slot.states.values()
                if slot.dir_locked:
                    unlock.append(self._dir_locks[p])
                self._slots[p] = _Slot(status=PartitionStatus.REVOKED)
        # Durable states are closed (their files stay for the next owner), others dropped; only
        # then may the partition's next attempt open the same databases.
        _discard(dropped)
        for lock in unlock:
            lock.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            partitions = list(self._slots)
        self.revoke(partitions)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- queries ---------------------------------------------------------------------------------
    def status(self, partition: int) -> PartitionStatus:
        with self._lock:
            slot = self._slots.get(partition)
            return PartitionStatus.IDLE if slot is None else slot.status

    def statuses(self) -> dict[int, PartitionStatus]:
        with self._lock:
            return {p: s.status for p, s in sorted(self._slots.items())}

    def progress(self, partition: int) -> int | None:
        """Changelog records read so far by the partition's restore in progress, else ``None``."""
        with self._lock:
            slot = self._slots.get(partition)
            return None if slot is None or slot.attempt is None else slot.attempt.restored

    def stats(self, partition: int) -> RestoreStats | None:
        """How the last completed restore of ``partition`` went (``None``: none completed)."""
        with self._lock:
            return self._stats.get(partition)

    def error(self, partition: int) -> BaseException | None:
        with self._lock:
            slot = self._slots.get(partition)
            return None if slot is None else slot.error

    def state(self, store: str, partition: int) -> LocalState | None:
        """The ACTIVE local state of ``store`` on ``partition``, else ``None``."""
        with self._lock:
            slot = self._slots.get(partition)
            if slot is None or slot.status is not PartitionStatus.ACTIVE:
                return None
            return slot.states.get(store)

    def ends(self, partition: int) -> dict[str, int]:
        """Where the restore of the ACTIVE ``partition`` stopped reading, per changelog topic
        (empty if not ACTIVE or the source does not report offsets)."""
        with self._lock:
            slot = self._slots.get(partition)
            if slot is None or slot.status is not PartitionStatus.ACTIVE:
                return {}
            return dict(slot.ends)

    def active_states(self, store: str) -> list[tuple[int, LocalState]]:
        with self._lock:
            return [
                (p, s.states[store])
                for p, s in sorted(self._slots.items())
                if s.status is PartitionStatus.ACTIVE and store in s.states
            ]

    def catch_up(self, partitions: Iterable[int], *, timeout: timedelta) -> int:
        """Read what was committed to the durable stores' changelogs since each ACTIVE
        partition's local checkpoint and move the checkpoints past it (the follower's job, for
        users without one). Returns the records read."""
        deadline = time.monotonic() + timeout.total_seconds()
        jobs = [j for j in self._jobs if j.durable is not None]
        read = 0
        if not jobs:
            return 0
        reader = self._source.open()
        if getattr(reader, "bounds", None) is None:  # cannot read from an offset
            reader.close()
            return 0
        try:
            for p in sorted(set(partitions)):
                for job in jobs:
                    state = self.state(job.store, p)
                    cp = state.checkpoint_or_none() if isinstance(state, PersistentState) else None
                    if cp is None or not isinstance(state, PersistentState):
                        continue
                    for batch in reader.batches(
                        job.topic, p, deadline=deadline, cancelled=lambda: False, start=cp.offset
                    ):
                        state.follow_committed(batch)
                        read += len(batch)
        finally:
            reader.close()
        return read

    # -- the worker ------------------------------------------------------------------------------
    def _run(self, attempt: _Attempt) -> None:
        t0 = time.monotonic()
        dir_lock = self._dir_lock(attempt.partition)
        if dir_lock is not None and not dir_lock.acquire(timeout=self._timeout.total_seconds()):
            self._fail(attempt, {}, RestoreError(
                f"partition {attempt.partition}: the local state of an earlier owner in this "
                f"process was not closed within {self._timeout}"
            ))
            return
        installed = False
        try:
            installed = self._attempt(attempt, t0, dir_lock is not None)
        finally:
            if dir_lock is not None and not installed:
                dir_lock.release()

    def _dir_lock(self, partition: int) -> threading.Lock | None:
        if not self._durable:
            return None
        with self._lock:
            return self._dir_locks.setdefault(partition, threading.Lock())

    def _attempt(self, attempt: _Attempt, t0: float, dir_locked: bool) -> bool:
        staged: dict[str, LocalState] = {}
        ends: dict[str, int] = {}
        deadline = t0 + self._timeout.total_seconds()
        try:
            if not attempt.cancel.is_set():
                self._read_all(attempt, staged, ends, deadline)
        except BaseException as exc:  # every failure must settle the attempt
            self._fail(attempt, staged, exc)
            return False
        if self._install(attempt, staged, ends, dir_locked):
            elapsed = time.monotonic() - t0
            with self._lock:
                self._stats[attempt.partition] = RestoreStats(
                    attempt.partition, attempt.restored, elapsed, dict(attempt.warm),
                    dict(attempt.reasons), dict(attempt.reverted),
                )
            metrics.RESTORE_SECONDS.observe(elapsed)
            log.info(
                "restored partition %d: %d changelog records in %.2fs%s",
                attempt.partition, attempt.restored, elapsed,
                " (from local checkpoints)" if attempt.warm and all(attempt.warm.values()) else "",
            )
            return True
        _discard(staged)
        return False

    def _read_all(
        self,
        attempt: _Attempt,
        staged: dict[str, LocalState],
        ends: dict[str, int],
        deadline: float,
    ) -> None:
        reader = self._source.open()
        # Optional on a reader (the Kafka one has it; fakes need not): see ``_Slot.ends``.
        end_offset = getattr(reader, "end_offset", None)
        try:
            for job in self._jobs:
                if job.durable is not None:
                    self._read_durable(
                        job=job, path=job.durable(attempt.partition), reader=reader,
                        attempt=attempt, staged=staged, deadline=deadline,
                    )
                else:
                    state = staged[job.store] = job.new_state(attempt.partition)
                    for batch in reader.batches(
                        job.topic, attempt.partition, deadline=deadline,
                        cancelled=attempt.cancel.is_set,
                    ):
                        state.load(batch)
                        attempt.restored += len(batch)
                        metrics.RESTORE_RECORDS.labels(job.store).inc(len(batch))
                if attempt.cancel.is_set():
                    return
                end = None if end_offset is None else end_offset(job.topic, attempt.partition)
                if end is not None:
                    ends[job.topic] = end
        finally:
            reader.close()

    # -- durable stores --------------------------------------------------------------------------
    def _read_durable(
        self,
        *,
        job: RestoreJob,
        path: Path,
        reader: ChangelogReader,
        attempt: _Attempt,
        staged: dict[str, LocalState],
        deadline: float,
    ) -> None:
        p, topic = attempt.partition, job.topic
        try:
            state = PersistentState(path, topic=topic, partition=p)
            damaged = ""
        except CorruptStateError as exc:
            shutil.rmtree(path, ignore_errors=True)
            state, damaged = _fresh(path, topic, p), str(exc)
        staged[job.store] = state
        t_start = now()
        start, reason, high = (
            (None, f"local state unreadable ({damaged})", None) if damaged
            else self._plan(state, reader, topic, p, deadline)
        )
        topic_id = _topic_id(reader, topic, deadline)
        bounds = getattr(reader, "bounds", None)
        if high is None and bounds is not None:
            high = bounds(topic, p, deadline=deadline)[1]
        if start is None:
            if state.checkpoint_or_none() is None and not damaged and not any(state.items()):
                log.info("%s[%d]: no local state yet, restoring in full", topic, p)
            else:
                log.warning("%s[%d]: full restore: %s", topic, p, reason)
            state.destroy()
            state = staged[job.store] = _fresh(path, topic, p)
            attempt.reasons[job.store] = reason
        attempt.warm[job.store] = start is not None
        cp = state.checkpoint_or_none()
        since = cp.since if start is not None and cp is not None else 0.0
        kwargs: dict[str, Any] = {} if start is None else {"start": start}
        for batch in reader.batches(
            topic, p, deadline=deadline, cancelled=attempt.cancel.is_set, **kwargs
        ):
            last: Any = batch[-1]
            since = max(since, record_time(last))
            state.apply_tail(batch, Checkpoint(topic, p, (last.offset() or 0) + 1, since, topic_id))
            attempt.restored += len(batch)
            metrics.RESTORE_RECORDS.labels(job.store).inc(len(batch))
        if attempt.cancel.is_set():
            return
        end_offset = getattr(reader, "end_offset", None)
        end = end_offset(topic, p) if end_offset is not None else None
        if end is None:
            cp = state.checkpoint_or_none()
            end = 0 if cp is None else cp.offset
        if high is not None and end >= high:
            since = max(since, t_start)  # every record from ``end`` on comes after t_start
        reverted = state.finish(Checkpoint(topic, p, end, since, topic_id))
        attempt.reverted[job.store] = reverted
        if reverted:
            log.info(
                "%s[%d]: %d key(s) changed locally but never committed got their committed "
                "value back", topic, p, reverted,
            )

    def _plan(
        self, state: PersistentState, reader: ChangelogReader, topic: str, p: int, deadline: float
    ) -> tuple[int | None, str, int | None]:
        """Where to resume ``state`` from (``None``: full restore, with the reason), and the
        changelog's high watermark now."""
        try:
            cp = state.checkpoint()
        except ValueError as exc:
            return None, f"local checkpoint unreadable ({exc})", None
        bounds = getattr(reader, "bounds", None)
        if cp is None or (cp.topic, cp.partition) != (topic, p) or bounds is None:
            why = (
                "no local checkpoint" if cp is None
                else f"local checkpoint belongs to {cp.topic}[{cp.partition}]"
                if (cp.topic, cp.partition) != (topic, p)
                else "the changelog source cannot read from an offset"
            )
            return None, why, None
        low, high = bounds(topic, p, deadline=deadline)
        tid = _topic_id(reader, topic, deadline)
        age = now() - cp.since
        checks = [
            (cp.offset > high, f"local checkpoint (offset {cp.offset}) is ahead of the "
             f"changelog's end ({high}): the changelog was recreated or truncated"),
            (cp.offset < low, f"the changelog starts at offset {low}, past the local checkpoint "
             f"({cp.offset}): records were deleted or the changelog was recreated"),
            (tid is not None and cp.topic_id is not None and tid != cp.topic_id,
             f"the changelog was recreated (topic id {cp.topic_id} -> {tid})"),
            (cp.offset < high and age > self._max_age.total_seconds(),
             f"local checkpoint is {timedelta(seconds=int(max(age, 0)))} old "
             f"(checkpoint_max_age {self._max_age}): compaction may have dropped tombstones"),
        ]
        for bad, why in checks:
            if bad:
                return None, why, high
        return cp.offset, "", high

    def _install(
        self,
        attempt: _Attempt,
        staged: dict[str, LocalState],
        ends: dict[str, int],
        dir_locked: bool,
    ) -> bool:
        with self._lock:
            slot = self._slots.get(attempt.partition)
            if attempt.cancel.is_set() or slot is None or slot.attempt is not attempt:
                _settle(attempt.done, False)
                return False
            slot.status, slot.attempt, slot.states = PartitionStatus.ACTIVE, None, staged
            slot.ends, slot.dir_locked = ends, dir_locked
        # Settled outside the lock: done-callbacks may take locks of their own (no lock-order
        # inversion with callers that hold theirs while calling in here).
        _settle(attempt.done, True)
        return True

    def _fail(self, attempt: _Attempt, staged: dict[str, LocalState], exc: BaseException) -> None:
        _discard(staged)
        with self._lock:
            slot = self._slots.get(attempt.partition)
            current = slot is not None and slot.attempt is attempt and not attempt.cancel.is_set()
            if current and slot is not None:
                slot.status, slot.attempt, slot.error = PartitionStatus.FAILED, None, exc
                log.error("restore of partition %d failed: %s", attempt.partition, exc)
        if not current:
            _settle(attempt.done, False)
        elif not attempt.done.done():
            attempt.done.set_exception(exc)


def _settle(fut: Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


def _discard(states: dict[str, LocalState] | list[LocalState]) -> None:
    """Drop ephemeral states; close durable ones (their files are the next owner's start)."""
    for state in states.values() if isinstance(states, dict) else states:
        try:
            release = getattr(state, "release", None)
            (release or state.destroy)()
        except Exception:  # best effort: the attempt is dead either way
            log.exception("could not discard restore state")


def _fresh(path: Path, topic: str, partition: int) -> PersistentState:
    """A new, empty durable database at ``path`` (which was just removed)."""
    try:
        return PersistentState(path, topic=topic, partition=partition)
    except CorruptStateError as exc:
        raise RestoreError(
            f"{topic}[{partition}]: cannot create local state at {path}: {exc}; check the state "
            "directory's permissions and free space"
        ) from exc


def _topic_id(reader: ChangelogReader, topic: str, deadline: float) -> str | None:
    lookup = getattr(reader, "topic_id", None)
    return None if lookup is None else lookup(topic, deadline=deadline)  # type: ignore[no-any-return]

