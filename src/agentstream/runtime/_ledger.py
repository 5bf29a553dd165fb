"""``Ledger``: an input's life from accepted to committed, in one place, for both delivery modes.

    accepted ─▶ running ─▶ settling ─▶ finished ─▶ (marker queued) ─▶ committed
    (consumer    (a handler  (returned;    (every write   (at-least-once:   (offsets, or
     thread)      holds a     writes       acknowledged)   written by the    one transaction)
                  slot)       queued)                      producer's poll)

Who moves an input along: the consumer thread accepts fetched records (``accept``); the engine
starts them in key order (the scheduler, ``_scheduler.py``), seals each attempt's writes into one
``Acks`` and calls ``finish`` once they are acknowledged (or ``finish`` at once for an input with
nothing to write: a skip, a duplicate, a dead letter after its write); the consumer thread commits
(``commit``: periodically, before a revocation, at shutdown). Nothing else finishes an input or
commits an offset or a transaction.

Commit order (the only one in the runtime):

1. An input counts as *finished* only after every record it caused is acknowledged by the
   broker: its emitted events, its dead letter, ``ctx.produce_raw`` writes, its memory
   changelog writes (``ctx.store`` and reducers, see ``_memory.py``). A handler that has not run
   never finishes. Inputs of a key finish in offset order (the scheduler holds back one whose
   predecessor may still run again). ``finish`` queues the input's dedupe marker *before* its
   offset can count as finished, so every input a watermark covers has queued its marker.
2. The offset to commit per partition is the scheduler's watermark: the lowest unfinished offset
   (or last seen + 1), so a finished input above an unfinished one is never committed.
3. at-least-once: wait until the dedupe markers queued so far are acknowledged (every input
   under the watermarks queued its marker before they were taken), then commit those offsets
   synchronously on the consumer. Markers not acknowledged in time postpone the commit.
   exactly-once: (a) barrier: wait until every accepted input is finished, so the open
   transaction holds exactly the outputs of the inputs whose offsets it will commit;
   (b) the dedupe markers of those inputs are produced into the transaction;
   (c) ``send_offsets_to_transaction`` with the consumer's group metadata (fences zombies of an
   older generation); (d) ``commit_transaction`` and open the next one; the dedupe keys of the
   transaction become permanent. A barrier that times out, or a commit that fails, aborts the
   transaction: outputs and markers vanish, the provisional dedupe keys are forgotten, offsets
   stay, the inputs are processed again (``abort``; the pump rewinds the consumer).
4. Revocation and shutdown (``settle``): at-least-once drains the partitions' running inputs
   (queued ones are dropped, fetched again by the next owner) and commits what finished;
   exactly-once commits the whole transaction behind its barrier. Lost partitions are not
   committed (``abort`` under exactly-once).

Commits run on the consumer thread (also inside rebalance callbacks, where committing is
allowed); ``finish`` runs on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Literal

from confluent_kafka import Consumer, KafkaException, TopicPartition

from agentstream.ops import metrics
from agentstream.runtime._dedupe import DedupeStore
from agentstream.runtime._producer import OutputProducer
from agentstream.runtime._scheduler import KeyOrderedScheduler, WorkItem
from agentstream.runtime._scheduler import TopicPartition as TP
from agentstream.runtime._settings import DeliveryMode

__all__ = ["CommitOutcome", "Ledger"]

log = logging.getLogger("agentstream.runtime")

CommitOutcome = Literal["committed", "nothing", "failed", "aborted"]
Barrier = Callable[[float], bool]
# Drains the given partitions (None: all) on the loop within a timeout; True if nothing is left.
Drain = Callable[[list[TP] | None, float], bool]


class Ledger:
    """Finishes inputs and commits them in the order stated in the module docstring."""

    def __init__(
        self,
        *,
        agent: str,
        consumer: Consumer,
        producer: OutputProducer,
        scheduler: KeyOrderedScheduler,
        mode: DeliveryMode,
        barrier: Barrier,
        dedupe: DedupeStore | None = None,
        timeout: float = 30.0,
        broker_up: Callable[[], bool] | None = None,
    ) -> None:
        self.agent = agent
        self.consumer = consumer
        self.producer = producer
        self.scheduler = scheduler
        self.mode = mode
        self.barrier = barrier
        self.dedupe = dedupe if dedupe is not None and dedupe.enabled else None
        self.timeout = timeout
        self.committed: dict[TP, int] = {}
        self.commits = 0
        # Exactly-once: while the broker is unreachable the transaction stays open (librdkafka's
        # send_offsets_to_transaction can wait past its timeout for a coordinator that is down).
        self.broker_up = broker_up

    # -- accepted (consumer thread) ----------------------------------------------------------------
    def accept(self, items: Iterable[WorkItem]) -> int:
        """Queue fetched records in key order; how many were new (a refetched offset is not)."""
        return self.scheduler.add_many(items)

    # -- finished (event loop) --------------------------------------------------------------------
    def finish(self, item: WorkItem, dkey: str | None = None) -> None:
        """``item`` is finished; ``dkey`` its dedupe key when it was handled (or dead-lettered),
        None for an input that was skipped or recognised as a duplicate."""
        self.finish_many(((item, dkey),))

    def finish_many(self, finished: Iterable[tuple[WorkItem, str | None]]) -> None:
        """``finish`` for a batch of inputs: one scheduler lock, one marker lock.

        An input finishes in its key's order (the scheduler holds one whose predecessor has not
        finished yet); its marker is queued as it finishes, before its offset can count."""
        items = []
        for item, dkey in finished:
            item.dkey = dkey
            items.append(item)
        self.scheduler.finish_many(items, self._queue_markers if self.dedupe else None)

    def _queue_markers(self, done: list[WorkItem]) -> None:
        """The dedupe markers of inputs that just finished (under the scheduler's lock)."""
        dedupe = self.dedupe
        assert dedupe is not None
        keyed = [item for item in done if item.dkey is not None]
        if keyed:
            topic, partition = dedupe.topic, dedupe.marker_partition
            self.producer.queue_markers(
                [(topic, item.dkey.encode(), partition(item.partition))  # type: ignore[union-attr]
                 for item in keyed]
            )
            dedupe.remember_many([item.dkey for item in keyed])  # type: ignore[misc]

    # -- committed (consumer thread) --------------------------------------------------------------
    def _due(self, tps: Iterable[TP] | None) -> dict[TP, int]:
        marks = self.scheduler.watermarks(tps)
        return {tp: off for tp, off in marks.items() if off > self.committed.get(tp, -1)}

    def commit(self, tps: Iterable[TP] | None = None, *, barrier_timeout: float) -> CommitOutcome:
        """Commit what is finished (of ``tps``, default all partitions)."""
        if self.mode == "exactly-once":
            return self._commit_transaction(barrier_timeout)
        due = self._due(tps)
        if not due:
            return "nothing"
        # Read after the watermarks: every input they cover queued its marker before.
        markers = self.producer.markers_queued
        if not self.producer.wait_markers(markers, self.timeout):
            log.warning("dedupe markers not acknowledged within %.0fs: commit postponed",
                        self.timeout)
            return "failed"
        offsets = [TopicPartition(t, p, o) for (t, p), o in due.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # A rebalance in progress or a stale generation: the next owner starts from the
            # previous commit and dedupe recognises what was already handled.
            log.warning("offset commit failed (will retry): %s", exc)
            return "failed"
        self._committed(due)
        return "committed"

    def _commit_transaction(self, barrier_timeout: float) -> CommitOutcome:
        if self.broker_up is not None and not self.broker_up():
            return "nothing"  # committed once the broker is back (or aborted by its timeout)
        reason = self._abort_reason(barrier_timeout)
        if reason is not None:
            log.warning("%s: aborting the transaction", reason)
            self.abort()
            return "aborted"
        due = self._due(None)
        offsets = [TopicPartition(t, p, o) for (t, p), o in due.items()]
        try:
            self.producer.commit_transaction(
                offsets, self.consumer.consumer_group_metadata(), self.timeout
            )
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if getattr(err, "txn_requires_abort", lambda: False)():
                log.warning("transaction commit failed, aborting: %s", exc)
                self.abort()
                return "aborted"
            if getattr(err, "retriable", lambda: False)():
                # E.g. the coordinator is briefly unreachable: the transaction stays open and
                # the same offsets are sent again at the next commit.
                log.warning("transaction commit not completed (tried again): %s", exc)
                return "failed"
            raise
        if self.dedupe is not None:
            self.dedupe.commit_pending()
        self._committed(due)
        return "committed" if due else "nothing"

    def _abort_reason(self, barrier_timeout: float) -> str | None:
        """Why the open transaction cannot commit (steps a and b), or None."""
        if not self.barrier(barrier_timeout):
            return f"inputs did not finish within {barrier_timeout:.1f}s"
        if self.dedupe is not None and not self.producer.write_markers():
            return "dedupe markers could not be enqueued"
        failed = self.producer.txn_failure()
        if failed is not None:
            return f"a write of the transaction failed ({failed})"
        return None

    def settle(self, tps: list[TP] | None, *, drain: Drain, timeout: float) -> CommitOutcome:
        """Before partitions are revoked (``tps``) or the process stops (None): commit what they
        finished. ``drain`` waits on the loop for their running inputs (at-least-once)."""
        if self.mode == "exactly-once":
            return self.commit(barrier_timeout=timeout)
        drain(tps, timeout)  # what it abandons stays uncommitted (the engine says how many)
        return self.commit(tps, barrier_timeout=timeout)

    def abort(self) -> None:
        """Exactly-once: abort the open transaction (and open the next): its outputs, markers and
        provisional dedupe keys are gone; the caller rewinds the inputs."""
        try:
            self.producer.abort_transaction(self.timeout)
        finally:
            if self.dedupe is not None:
                self.dedupe.abort_pending()
                self.producer.discard_markers()

    def _committed(self, due: dict[TP, int]) -> None:
        self.committed.update(due)
        self.commits += 1

    def forget(self, tps: Iterable[TP]) -> None:
        """Released partitions: their unfinished inputs and commit positions are forgotten."""
        tps = list(tps)
        self.scheduler.forget(tps)
        for topic, partition in tps:
            self.committed.pop((topic, partition), None)
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(self.agent, topic, str(partition))

    def update_lag(self) -> None:
        """Export high watermark minus committed offset per assigned partition.

        Uses the high watermark of the latest fetch response (``cached=True``): asking the broker
        would cost a round trip per partition on the consumer thread, which stalls fetching.
        """
        for (topic, partition), committed in list(self.committed.items()):
            try:
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if high < 0:  # nothing fetched yet
                continue
            metrics.CONSUMER_LAG.labels(self.agent, topic, str(partition)).set(
                max(0, high - committed)
            )

