"""The ledger: finishing an input queues its dedupe marker before its offset can be committed;
commits wait for the markers of the inputs they cover (at-least-once) or write them into the
transaction (exactly-once); revocation drains, then commits only what the partitions finished."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from agentstream.runtime import KeyOrderedScheduler, WorkItem
from agentstream.runtime._dedupe import DedupeStore
from agentstream.runtime._ledger import Ledger


class _Consumer:
    def __init__(self) -> None:
        self.commits: list[list[Any]] = []

    def commit(self, *, offsets: list[Any], asynchronous: bool) -> None:
        assert not asynchronous
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


class _Markers:
    """The marker side of ``OutputProducer``: queued markers, acknowledged by the test.
    ``sched`` is asserted on: a marker is queued while its input is still unfinished."""

    def __init__(self) -> None:
        self.markers_queued = 0
        self.keys: list[bytes] = []
        self.acked = 0
        self.cond = threading.Condition()
        self.sched: KeyOrderedScheduler | None = None

    def queue_marker(self, topic: str, key: bytes, partition: int) -> None:
        self.queue_markers([(topic, key, partition)])

    def queue_markers(self, markers: list[tuple[str, bytes, int]]) -> None:
        if self.sched is not None:
            assert self.sched.watermarks() == {("t", 0): 0}, "marker queued after the finish"
        self.markers_queued += len(markers)
        self.keys += [key for _, key, _ in markers]

    def ack_all(self) -> None:
        with self.cond:
            self.acked = self.markers_queued
            self.cond.notify_all()

    def wait_markers(self, seq: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.acked >= seq, timeout)


def _ledger(timeout: float) -> tuple[Ledger, KeyOrderedScheduler, _Consumer, _Markers]:
    sched = KeyOrderedScheduler(max_in_flight=4)
    consumer, markers = _Consumer(), _Markers()
    ledger = Ledger(
        agent="a", consumer=consumer, producer=markers,  # type: ignore[arg-type]
        scheduler=sched, mode="at-least-once", barrier=lambda _t: True, timeout=timeout,
        dedupe=DedupeStore("d", window=timedelta(minutes=1)),
    )
    return ledger, sched, consumer, markers


def _finish_one(ledger: Ledger, offset: int, partition: int = 0) -> None:
    item = WorkItem("t", partition, offset, b"k")
    ledger.accept([item])
    [started] = ledger.scheduler.take_ready()
    ledger.finish(started, f"event-{partition}-{offset}")


def test_finishing_queues_the_marker_before_the_offset_counts_as_finished() -> None:
    ledger, sched, _, markers = _ledger(timeout=1)
    markers.sched = sched  # asserts the watermark has not moved when the marker is queued
    _finish_one(ledger, 0)
    assert markers.keys == [b"event-0-0"]
    assert sched.watermarks() == {("t", 0): 1}
    assert ledger.dedupe is not None and ledger.dedupe.seen("event-0-0")


def test_a_batch_finishes_with_its_markers_and_a_skip_without_one() -> None:
    ledger, sched, consumer, markers = _ledger(timeout=1)
    items = [WorkItem("t", 0, off, f"k{off}".encode()) for off in range(3)]
    ledger.accept(items)
    started = sched.take_ready()
    ledger.finish(started[2])  # a skipped input: no dedupe key, no marker
    assert sched.watermarks() == {("t", 0): 0}, "offset 2 is finished above unfinished 0 and 1"
    ledger.finish_many([(started[0], "e0"), (started[1], "e1")])
    assert markers.keys == [b"e0", b"e1"]
    markers.ack_all()
    assert ledger.commit(barrier_timeout=1) == "committed"
    assert consumer.commits == [[("t", 0, 3)]]


def test_revocation_drains_then_commits_only_the_revoked_partitions() -> None:
    ledger, _, consumer, markers = _ledger(timeout=1)
    _finish_one(ledger, 0, partition=0)
    _finish_one(ledger, 0, partition=1)
    markers.ack_all()
    drained: list[Any] = []
    outcome = ledger.settle([("t", 1)], drain=lambda tps, t: drained.append(tps) or True,
                            timeout=5)
    assert outcome == "committed"
    assert drained == [[("t", 1)]], "running inputs of the revoked partition are drained first"
    assert consumer.commits == [[("t", 1, 1)]]
    ledger.forget([("t", 1)])
    assert ledger.scheduler.watermarks() == {("t", 0): 1}


def test_commit_is_postponed_until_the_markers_are_acknowledged() -> None:
    committer, _, consumer, markers = _ledger(timeout=0.05)
    _finish_one(committer, 0)
    assert committer.commit(barrier_timeout=1) == "failed"
    assert consumer.commits == [], "no offset may pass an input whose marker is unacknowledged"
    markers.ack_all()
    assert committer.commit(barrier_timeout=1) == "committed"
    assert consumer.commits == [[("t", 0, 1)]]


def test_commit_waits_for_a_marker_acknowledged_meanwhile() -> None:
    committer, _, consumer, markers = _ledger(timeout=10)
    _finish_one(committer, 0)
    timer = threading.Timer(0.05, markers.ack_all)
    timer.start()
    try:
        assert committer.commit(barrier_timeout=1) == "committed"
    finally:
        timer.join()
    assert consumer.commits == [[("t", 0, 1)]]


class _TxProducer:
    """The transactional side of ``OutputProducer``: records the order of what the committer
    does; ``fail_commit`` makes the broker refuse the commit (requires abort)."""

    def __init__(self, *, fail_commit: bool = False, retriable_failures: int = 0) -> None:
        self.calls: list[str] = []
        self.fail_commit = fail_commit
        self.retriable_failures = retriable_failures

    def queue_markers(self, markers: list[tuple[str, bytes, int]]) -> None:
        self.queued = [*getattr(self, "queued", []), *(key for _, key, _ in markers)]

    def txn_failure(self) -> str | None:
        return None  # no write of the open transaction failed

    def write_markers(self) -> bool:
        self.calls.append("markers")
        return True

    def commit_transaction(self, offsets: list[Any], _meta: Any, _timeout: float) -> None:
        if self.fail_commit:
            err = KafkaError(KafkaError._STATE, "refused", txn_requires_abort=True)
            raise KafkaException(err)
        if self.retriable_failures:
            self.retriable_failures -= 1
            self.calls.append("transport failure")
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "coordinator away",
                                            retriable=True))
        self.calls.append(f"commit {[(tp.topic, tp.partition, tp.offset) for tp in offsets]}")

    def abort_transaction(self, _timeout: float) -> None:
        self.calls.append("abort")

    def discard_markers(self) -> None:
        self.calls.append("discard")


class _GroupConsumer(_Consumer):
    def consumer_group_metadata(self) -> object:
        return object()


def _eos(producer: _TxProducer) -> tuple[Ledger, KeyOrderedScheduler, DedupeStore]:
    sched = KeyOrderedScheduler(max_in_flight=4)
    dedupe = DedupeStore("d", window=timedelta(minutes=1))
    dedupe.transactional()
    committer = Ledger(
        agent="a", consumer=_GroupConsumer(), producer=producer,  # type: ignore[arg-type]
        scheduler=sched, mode="exactly-once", barrier=lambda _t: True, dedupe=dedupe,
    )
    return committer, sched, dedupe


def test_exactly_once_writes_markers_into_the_transaction_then_makes_keys_permanent() -> None:
    producer = _TxProducer()
    committer, _, dedupe = _eos(producer)
    _finish_one(committer, 0)
    assert committer.commit(barrier_timeout=1) == "committed"
    assert producer.calls == ["markers", "commit [('t', 0, 1)]"]
    assert dedupe.seen("event-0-0")
    assert dedupe.abort_pending() == 0, "committed keys are no longer provisional"
    assert dedupe.seen("event-0-0")


def test_an_aborted_transaction_forgets_its_dedupe_keys_and_markers() -> None:
    producer = _TxProducer(fail_commit=True)
    committer, _, dedupe = _eos(producer)
    dedupe.remember("committed-before")
    dedupe.commit_pending()
    _finish_one(committer, 0)
    assert dedupe.seen("event-0-0"), "a duplicate inside the open transaction is recognised"
    assert committer.commit(barrier_timeout=1) == "aborted"
    assert producer.calls == ["markers", "abort", "discard"]
    assert not dedupe.seen("event-0-0"), "its input runs again after the abort"
    assert dedupe.seen("committed-before")


def test_a_retriable_commit_failure_keeps_the_transaction_open_and_tries_again() -> None:
    producer = _TxProducer(retriable_failures=1)
    committer, _, dedupe = _eos(producer)
    _finish_one(committer, 0)
    assert committer.commit(barrier_timeout=1) == "failed"
    assert "abort" not in producer.calls, "a coordinator briefly away must not abort"
    assert dedupe.seen("event-0-0"), "its key stays provisional, not forgotten"
    assert committer.commit(barrier_timeout=1) == "committed"
    assert producer.calls[-1] == "commit [('t', 0, 1)]"
    assert dedupe.abort_pending() == 0


def test_a_transaction_call_that_never_returns_stops_at_its_deadline() -> None:
    from agentstream.runtime._producer import TransactionStuckError, _bounded  # noqa: PLC0415

    release = threading.Event()
    try:
        with pytest.raises(TransactionStuckError, match="send_offsets_to_transaction"):
            _bounded(lambda: release.wait(30) and None, 0.2, "send_offsets_to_transaction")
    finally:
        release.set()
    with pytest.raises(KafkaException):
        _bounded(lambda: _raise(KafkaException(KafkaError(KafkaError._STATE, "x"))), 5, "call")


def _raise(exc: BaseException) -> None:
    raise exc


def test_dedupe_keeps_the_most_recently_handled_keys_within_its_bound() -> None:
    store = DedupeStore("markers", window=timedelta(hours=1), max_ids=2)
    store.remember_many(["a", "b"])
    store.remember_many(["a"])  # handled again (a replay): now the newest
    store.remember_many(["c"])  # over the bound: the oldest goes, and that is b
    assert [store.seen(k) for k in ("a", "b", "c")] == [True, False, True]
