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
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from agentstream.memory._backend import LocalState
from agentstream.memory._changelog import ChangelogSource
from agentstream.ops import metrics

__all__ = ["PartitionStatus", "RestoreJob", "Restorer"]

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
    """One store to restore: its name, changelog topic and how to make its fresh local state."""

    store: str
    topic: str
    new_state: Callable[[int], LocalState]


@dataclass
class _Attempt:
    partition: int
    cancel: threading.Event = field(default_factory=threading.Event)
    # True: installed (ACTIVE); False: revoked or superseded before it finished.
    done: Future[bool] = field(default_factory=Future)
    restored: int = 0


@dataclass
class _Slot:
    status: PartitionStatus = PartitionStatus.IDLE
    attempt: _Attempt | None = None
    states: dict[str, LocalState] = field(default_factory=dict)
    # Changelog topic -> offset right after the last record the installed restore read.
    ends: dict[str, int] = field(default_factory=dict)
    error: BaseException | None = None


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
    ) -> None:
        self._jobs = jobs
        self._source = source
        self._timeout = timeout
        self._lock = threading.RLock()
        self._slots: dict[int, _Slot] = {}
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
        with self._lock:
            for p in set(partitions):
                slot = self._slots.get(p)
                if slot is None:
                    continue
                if slot.attempt is not None:
                    slot.attempt.cancel.set()
                    _settle(slot.attempt.done, False)
                dropped += slot.states.values()
                self._slots[p] = _Slot(status=PartitionStatus.REVOKED)
        for state in dropped:
            state.destroy()

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

    # -- the worker ------------------------------------------------------------------------------
    def _run(self, attempt: _Attempt) -> None:
        staged: dict[str, LocalState] = {}
        ends: dict[str, int] = {}
        t0 = time.monotonic()
        deadline = t0 + self._timeout.total_seconds()
        try:
            if not attempt.cancel.is_set():
                self._read_all(attempt, staged, ends, deadline)
        except BaseException as exc:  # every failure must settle the attempt
            self._fail(attempt, staged, exc)
            return
        if self._install(attempt, staged, ends):
            metrics.RESTORE_SECONDS.observe(time.monotonic() - t0)
            log.info(
                "restored partition %d: %d changelog records in %.2fs",
                attempt.partition, attempt.restored, time.monotonic() - t0,
            )
        else:
            _discard(staged)

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
                state = staged[job.store] = job.new_state(attempt.partition)
                for batch in reader.batches(
                    job.topic, attempt.partition, deadline=deadline, cancelled=attempt.cancel.is_set
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

    def _install(
        self, attempt: _Attempt, staged: dict[str, LocalState], ends: dict[str, int]
    ) -> bool:
        with self._lock:
            slot = self._slots.get(attempt.partition)
            if attempt.cancel.is_set() or slot is None or slot.attempt is not attempt:
                _settle(attempt.done, False)
                return False
            slot.status, slot.attempt, slot.states = PartitionStatus.ACTIVE, None, staged
            slot.ends = ends
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
                if not attempt.done.done():
                    attempt.done.set_exception(exc)
            else:
                _settle(attempt.done, False)


def _settle(fut: Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


def _discard(states: dict[str, LocalState]) -> None:
    for state in states.values():
        try:
            state.destroy()
        except Exception:  # best effort: the attempt is dead either way
            log.exception("could not discard restore state")
