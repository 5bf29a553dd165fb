"""The consumer thread: fetch with back-pressure, rebalance callbacks, periodic commits, shutdown.

confluent-kafka's consumer is a blocking C client, so it lives on its own thread; handlers run on
the asyncio loop. Back-pressure: when the scheduler has no room the thread first waits up to
``_PAUSE_AFTER`` for room (fast handlers free it within milliseconds, and a librdkafka
pause/resume costs a refetch of ~0.5 s), then pauses the partitions until half the room is back.
The thread hands records to the scheduler and wakes the loop; when the loop
must finish work first (revocation, shutdown, exactly-once barriers) the thread waits for it with
a deadline. Partition ownership is a small state machine per rebalance:

    assigned --(on_assign: restore dedupe markers, restore memory stores)--> active
    active --(on_revoke: drain running, commit, drop memory, forget)--> released
    active --(on_lost: cancel, drop memory, forget, no commit)--> released

Restores run off the callback: the callback only starts them — the dedupe markers of the window
(``DedupeStore.restore`` on a restore thread), the memory stores (``AgentMemory.begin_assign``)
and the workflow runs and timers (``Durable.begin_assign``, loaded on the loop).
A partition whose markers or stores are not restored yet is paused, and any record of it that was
fetched meanwhile is dropped and fetched again (a seek back) once it is ready, so the group never
waits for a restore and no record is handled against missing state or a forgotten marker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from agentstream.ops.metrics import observe_commit
from agentstream.runtime._dedupe import DedupeStore
from agentstream.runtime._engine import Engine
from agentstream.runtime._ledger import Ledger
from agentstream.runtime._memory import AgentMemory
from agentstream.runtime._scheduler import KeyOrderedScheduler, WorkItem
from agentstream.runtime._settings import AgentSettings

__all__ = ["Pump", "PumpStats"]

log = logging.getLogger("agentstream.runtime")

T = TypeVar("T")
_LAG_INTERVAL = 5.0
_PAUSE_AFTER = 1.0  # how long a full buffer may last before the consumer is paused
_ROOM_POLL = 0.002
_CALLBACK_SLACK = 10.0  # on top of shutdown_timeout for a loop call made from a callback


@dataclass
class PumpStats:
    paused: bool = False
    pauses: int = 0
    assignments: int = 0
    revocations: int = 0
    assigned: tuple[tuple[str, int], ...] = ()


class Pump:
    """Owns the consumer; runs on a dedicated thread (``start``), stops on ``request_stop``."""

    def __init__(
        self,
        *,
        consumer: Consumer,
        topics: list[str],
        scheduler: KeyOrderedScheduler,
        engine: Engine,
        ledger: Ledger,
        dedupe: DedupeStore | None,
        dedupe_client_config: dict[str, Any],
        settings: AgentSettings,
        loop: asyncio.AbstractEventLoop,
        memory: AgentMemory | None = None,
    ) -> None:
        self.consumer = consumer
        self.memory = memory
        self.topics = topics
        self.scheduler = scheduler
        self.engine = engine
        self.ledger = ledger
        self.dedupe = dedupe if dedupe is not None and dedupe.enabled else None
        self._dedupe_conf = dedupe_client_config
        self.settings = settings
        self.loop = loop
        self.stats = PumpStats()
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.done = threading.Event()
        self._stop = threading.Event()
        self._no_commit = False  # set once committing is wrong (fatal error, fenced)
        self._resume_at = max(1, scheduler.max_pending // 2)
        # Restores off the callback: paused partitions (and the first offset of each that was
        # fetched and dropped meanwhile, to seek back to), and the restores each waits for.
        self._restoring: dict[tuple[str, int], int | None] = {}
        self._sync_pause = False
        self._restore_futures: dict[tuple[str, int], list[Future[Any]]] = {}
        self._restorer: ThreadPoolExecutor | None = None  # dedupe restores, made on first use
        self._thread = threading.Thread(target=self._main, name="agentstream-consumer", daemon=True)

    @property
    def _drain_timeout(self) -> float:
        return self.settings.shutdown_timeout.total_seconds()

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def _on_loop(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _call_on_loop(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    # -- main loop ----------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.consumer.subscribe(
                self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            next_commit = time.monotonic() + self.settings.commit_interval.total_seconds()
            next_lag = time.monotonic() + _LAG_INTERVAL
            while not self._stop.is_set() and self.engine.fatal is None:
                if self.ledger.producer.fatal is not None:
                    raise self.ledger.producer.fatal
                if self._restoring:
                    self._resume_restored()
                self._fetch()
                now = time.monotonic()
                if now >= next_commit:
                    self._commit_all()
                    next_commit = now + self.settings.commit_interval.total_seconds()
                if now >= next_lag:
                    self.ledger.update_lag()
                    next_lag = now + _LAG_INTERVAL
            self._shutdown()
        except BaseException as exc:
            self.error = exc
            self._no_commit = True
            self._close_quietly()
        finally:
            if self._restorer is not None:  # a restore still running ends at its deadline
                self._restorer.shutdown(wait=False, cancel_futures=True)
            self.done.set()
            self._call_on_loop(lambda: None)  # wake the runner

    def _fetch(self) -> None:
        if self._sync_pause:
            # After a rebalance the assignment's pause state is librdkafka's (kept partitions
            # stay paused, new ones are not): make it the back-pressure state again.
            self._sync_pause = False
            parts = self.consumer.assignment()
            if self.stats.paused:
                self.consumer.pause(parts)
            else:
                self.consumer.resume(
                    [p for p in parts if (p.topic, p.partition) not in self._restoring])
        room = self.scheduler.room()
        if room == 0 and not self.stats.paused:
            # A full buffer of fast handlers frees up within milliseconds; pausing would cost
            # far more (librdkafka drops its prefetched records and refetches after resume).
            # Meanwhile librdkafka's own queue stays bounded by queued.max.messages.kbytes.
            room = self._wait_for_room()
        if room == 0 and not self.stats.paused:
            self._set_paused(True)
        elif self.stats.paused and room >= self._resume_at:
            self._set_paused(False)
        # A paused consumer is still polled: rebalance callbacks and max.poll.interval need it.
        want = max(1, min(room, self.settings.batch_size))
        msgs = self.consumer.consume(num_messages=want, timeout=0.1)
        items = []
        restoring = self._restoring
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    if err.fatal():
                        raise KafkaException(err)
                    log.warning("consumer error: %s", err)
                continue
            topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), \
                int(msg.offset() or 0)
            if restoring and (topic, partition) in restoring:
                self._hold_back(topic, partition, offset)
                continue
            items.append(WorkItem(topic, partition, offset, msg.key(), msg))
        if items and self.ledger.accept(items):
            self._call_on_loop(self.engine.dispatch)

    # -- restores off the rebalance callback --------------------------------------------------
    def _start_restores(self, parts: list[TopicPartition]) -> None:
        """Start restoring the dedupe markers, the stores and the workflow runs and timers of
        newly assigned partitions (returns at once); they stay paused until all are back."""
        tps = _tps(parts)
        waits: dict[tuple[str, int], list[Future[Any]]] = {tp: [] for tp in tps}
        if self.dedupe is not None:
            if self._restorer is None:
                self._restorer = ThreadPoolExecutor(1, thread_name_prefix="agentstream-restore")
            markers = self._restorer.submit(self._restore_markers, [p for _, p in tps])
            for tp in tps:
                waits[tp].append(markers)
        if self.memory is not None:
            for tp, fut in self.memory.begin_assign(tps).items():
                waits.setdefault(tp, []).append(fut)
        if self.engine.durable is not None:  # workflow runs and timers: _durable.py
            loaded = self.engine.durable.begin_assign(tps)
            for tp in tps:
                waits[tp].append(loaded)
        for tp, futs in waits.items():
            memory_ready = self.memory is None or self.memory.ready(tp)
            if not memory_ready or not all(f.done() for f in futs):
                self._restoring[tp] = None
                self._restore_futures[tp] = futs
        if self._restoring:
            log.info("restoring %s of %s; they are paused until restored",
                     ", ".join(w for w, on in (("dedupe markers", self.dedupe),
                                               ("memory", self.memory),
                                               ("workflow runs and timers", self.engine.durable))
                               if on is not None),
                     ", ".join(f"{t}[{p}]" for t, p in sorted(self._restoring)))

    def _restore_markers(self, partitions: list[int]) -> int:
        assert self.dedupe is not None
        n = self.dedupe.restore(self._dedupe_conf, partitions, timeout=self._drain_timeout)
        log.info("restored %d dedupe markers for %d partition(s)", n, len(partitions))
        return n

    def _hold_back(self, topic: str, partition: int, offset: int) -> None:
        """A record of a partition still restoring: dropped now, fetched again once ready."""
        tp = (topic, partition)
        first = self._restoring[tp]
        if first is None:
            self._restoring[tp] = offset
            self.consumer.pause([TopicPartition(topic, partition)])
        elif offset < first:
            self._restoring[tp] = offset

    def _resume_restored(self) -> None:
        """Resume (and seek back) the partitions whose markers and stores are restored; raise a
        failed restore's error (the process stops, as when a restore failed in the callback)."""
        for tp in list(self._restoring):
            futs = self._restore_futures.get(tp, [])
            for fut in futs:
                if fut.done() and fut.exception() is not None:
                    raise fut.exception()  # type: ignore[misc]
            if not all(fut.done() for fut in futs):
                continue
            if self.memory is not None and not self.memory.ready(tp):
                if tp not in self.memory.pending():
                    self._restoring.pop(tp, None)  # revoked before it was restored
                continue
            first = self._restoring.pop(tp)
            self._restore_futures.pop(tp, None)
            part = TopicPartition(tp[0], tp[1])
            if first is not None:
                self.consumer.seek(TopicPartition(tp[0], tp[1], first))
            if not self.stats.paused:
                self.consumer.resume([part])
            log.info("%s[%d] restored; fetching it", tp[0], tp[1])
        if not self._restoring:
            self.ready.set()

    def _wait_for_room(self) -> int:
        """Room for a batch, waiting up to ``_PAUSE_AFTER``; 0 if none came (then pause)."""
        enough = min(self.settings.batch_size, self._resume_at)
        deadline = time.monotonic() + _PAUSE_AFTER
        room = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            room = self.scheduler.room()
            if room >= enough:
                break
            time.sleep(_ROOM_POLL)
        return room

    def _set_paused(self, paused: bool) -> None:
        parts = self.consumer.assignment()
        if not paused and self._restoring:  # stay paused until restored
            parts = [p for p in parts if (p.topic, p.partition) not in self._restoring]
        if paused:
            self.consumer.pause(parts)
            self.stats.pauses += 1
        else:
            self.consumer.resume(parts)
        self.stats.paused = paused

    def _commit_all(self) -> None:
        t0 = time.perf_counter()
        outcome = self.ledger.commit(barrier_timeout=self._drain_timeout)
        observe_commit(self.ledger.agent, outcome, time.perf_counter() - t0)
        if outcome == "aborted":
            self._rewind()

    def _settle(self, tps: list[tuple[str, int]] | None) -> None:
        """Revocation (``tps``) or shutdown (None): the ledger commits what they finished."""
        t0 = time.perf_counter()
        outcome = self.ledger.settle(tps, drain=self._drain, timeout=self._drain_timeout)
        observe_commit(self.ledger.agent, outcome, time.perf_counter() - t0)
        if outcome == "aborted":
            self._rewind()

    def _drain(self, tps: list[tuple[str, int]] | None, timeout: float) -> bool:
        """Wait (on the loop) for the running inputs of ``tps``; queued ones are dropped."""
        return self._on_loop(
            self.engine.drain(tps, timeout=timeout, drop_queued=True), timeout + _CALLBACK_SLACK
        )

    def barrier(self, timeout: float) -> bool:
        """Exactly-once: wait (on the loop) until every accepted input is finished."""
        return self._on_loop(
            self.engine.drain(None, timeout=timeout, drop_queued=False), timeout + _CALLBACK_SLACK
        )

    def _rewind(self) -> None:
        """After an aborted transaction: forget local work, seek back to the committed offsets."""
        parts = self.consumer.assignment()
        self.scheduler.forget([(p.topic, p.partition) for p in parts])
        committed = self.consumer.committed(parts, timeout=30)
        for tp in committed:
            # Nothing committed yet for the group: back to where it started (auto.offset.reset
            # is earliest), not where the aborted work left the consumer.
            to = tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
            self.consumer.seek(to)
            log.warning("rewound %s[%d] to %s", tp.topic, tp.partition,
                        f"committed offset {tp.offset}" if tp.offset >= 0
                        else "its beginning (nothing committed yet)")
        if self.memory is not None:
            # Local state holds the aborted writes: read it back from the (committed) changelog.
            self.memory.reload(_tps(parts))

    # -- rebalance state machine ------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        self.stats.assignments += 1
        self._sync_pause = True  # librdkafka keeps a kept partition's pause: re-apply ours
        if parts and any(x is not None for x in (self.dedupe, self.memory, self.engine.durable)):
            self._start_restores(parts)
        self.stats.assigned = tuple(sorted({*self.stats.assigned, *_tps(parts)}))
        log.info("assigned %s", ", ".join(f"{t}[{p}]" for t, p in _tps(parts)) or "nothing")
        if not self._restoring:  # else once every partition is restored
            self.ready.set()

    def _on_revoke(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        self.stats.revocations += 1
        tps = _tps(parts)
        if self._no_commit:
            self._release(tps)
            return
        self._settle(tps)
        self._release(tps)

    def _on_lost(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        tps = _tps(parts)
        log.warning("partitions lost (no commit possible): %s", tps)
        self._on_loop(self.engine.drain(tps, timeout=0, drop_queued=True), _CALLBACK_SLACK)
        if self.ledger.mode == "exactly-once":
            self.producer_abort()
        self._release(tps)

    def producer_abort(self) -> None:
        self.ledger.abort()

    def _release(self, tps: list[tuple[str, int]]) -> None:
        for tp in tps:
            self._restoring.pop(tp, None)
            self._restore_futures.pop(tp, None)
        if self.memory is not None:
            self.memory.revoke(tps)
        if self.engine.durable is not None:  # workflow runs and timers: _durable.py
            self.engine.durable.revoke(tps)
        self.ledger.forget(tps)
        self.stats.assigned = tuple(tp for tp in self.stats.assigned if tp not in set(tps))
        self._sync_pause = True  # librdkafka keeps a kept partition's pause: re-apply ours
        log.info("released %s", ", ".join(f"{t}[{p}]" for t, p in tps) or "nothing")

    # -- shutdown ---------------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """Stop fetching, drain (bounded by shutdown_timeout), commit, leave the group."""
        if self.engine.fatal is not None:
            log.error("stopping after a fatal error; unfinished inputs stay uncommitted")
            self._no_commit = True
            self._on_loop(self.engine.drain(None, timeout=0, drop_queued=True), _CALLBACK_SLACK)
            self.consumer.close()
            return
        parts = self.consumer.assignment()
        if parts:
            self.consumer.pause(parts)
        self._settle(None)
        self.consumer.close()  # leaves the group; on_revoke finds nothing left to do

    def _close_quietly(self) -> None:
        try:
            self.consumer.close()
        except Exception:
            log.debug("consumer close failed", exc_info=True)


def _tps(parts: list[TopicPartition]) -> list[tuple[str, int]]:
    return [(p.topic, p.partition) for p in parts]
