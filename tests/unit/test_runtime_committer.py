"""Commits wait for the dedupe markers of the inputs they cover (at-least-once) or write them
into the transaction (exactly-once)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from agentstream.runtime import KeyOrderedScheduler, WorkItem
from agentstream.runtime._committer import Committer
from agentstream.runtime._dedupe import DedupeStore


class _Consumer:
    def __init__(self) -> None:
        self.commits: list[list[Any]] = []

    def commit(self, *, offsets: list[Any], asynchronous: bool) -> None:
        assert not asynchronous
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


class _Markers:
    """The marker side of ``OutputProducer``: queued markers, acknowledged by the test."""

    def __init__(self) -> None:
        self.markers_queued = 0
        self.acked = 0
        self.cond = threading.Condition()

    def queue(self) -> None:
        self.markers_queued += 1

    def ack_all(self) -> None:
        with self.cond:
            self.acked = self.markers_queued
            self.cond.notify_all()

    def wait_markers(self, seq: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.acked >= seq, timeout)


def _committer(timeout: float) -> tuple[Committer, KeyOrderedScheduler, _Consumer, _Markers]:
    sched = KeyOrderedScheduler(max_in_flight=4)
    consumer, markers = _Consumer(), _Markers()
    committer = Committer(
        agent="a", consumer=consumer, producer=markers,  # type: ignore[arg-type]
        scheduler=sched, mode="at-least-once", barrier=lambda _t: True, timeout=timeout,
    )
    return committer, sched, consumer, markers


def _finish_one(sched: KeyOrderedScheduler, markers: _Markers, offset: int) -> None:
    item = WorkItem("t", 0, offset, b"k")
    sched.add(item)
    [started] = sched.take_ready()
    markers.queue()  # the engine queues the marker, then finishes the input
    sched.finish(started)


def test_commit_is_postponed_until_the_markers_are_acknowledged() -> None:
    committer, sched, consumer, markers = _committer(timeout=0.05)
    _finish_one(sched, markers, 0)
    assert committer.commit(barrier_timeout=1) == "failed"
    assert consumer.commits == [], "no offset may pass an input whose marker is unacknowledged"
    markers.ack_all()
    assert committer.commit(barrier_timeout=1) == "committed"
    assert consumer.commits == [[("t", 0, 1)]]


def test_commit_waits_for_a_marker_acknowledged_meanwhile() -> None:
    committer, sched, consumer, markers = _committer(timeout=10)
    _finish_one(sched, markers, 0)
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

    def __init__(self, *, fail_commit: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_commit = fail_commit

    def txn_failure(self) -> str | None:
        return None  # no write of the open transaction failed

    def write_markers(self) -> bool:
        self.calls.append("markers")
        return True

    def commit_transaction(self, offsets: list[Any], _meta: Any, _timeout: float) -> None:
        if self.fail_commit:
            err = KafkaError(KafkaError._STATE, "refused", txn_requires_abort=True)
            raise KafkaException(err)
        self.calls.append(f"commit {[(tp.topic, tp.partition, tp.offset) for tp in offsets]}")

    def abort_transaction(self, _timeout: float) -> None:
        self.calls.append("abort")

    def discard_markers(self) -> None:
        self.calls.append("discard")


class _GroupConsumer(_Consumer):
    def consumer_group_metadata(self) -> object:
        return object()


def _eos(producer: _TxProducer) -> tuple[Committer, KeyOrderedScheduler, DedupeStore]:
    sched = KeyOrderedScheduler(max_in_flight=4)
    dedupe = DedupeStore("d", window=timedelta(minutes=1))
    dedupe.transactional()
    committer = Committer(
        agent="a", consumer=_GroupConsumer(), producer=producer,  # type: ignore[arg-type]
        scheduler=sched, mode="exactly-once", barrier=lambda _t: True, dedupe=dedupe,
    )
    return committer, sched, dedupe


def test_exactly_once_writes_markers_into_the_transaction_then_makes_keys_permanent() -> None:
    producer = _TxProducer()
    committer, sched, dedupe = _eos(producer)
    _finish_one(sched, _Markers(), 0)
    dedupe.remember("event-1")
    assert committer.commit(barrier_timeout=1) == "committed"
    assert producer.calls == ["markers", "commit [('t', 0, 1)]"]
    assert dedupe.seen("event-1")
    assert dedupe.abort_pending() == 0, "committed keys are no longer provisional"
    assert dedupe.seen("event-1")


def test_an_aborted_transaction_forgets_its_dedupe_keys_and_markers() -> None:
    producer = _TxProducer(fail_commit=True)
    committer, sched, dedupe = _eos(producer)
    dedupe.remember("committed-before")
    dedupe.commit_pending()
    _finish_one(sched, _Markers(), 0)
    dedupe.remember("event-2")
    assert dedupe.seen("event-2"), "a duplicate inside the open transaction is recognised"
    assert committer.commit(barrier_timeout=1) == "aborted"
    assert producer.calls == ["markers", "abort", "discard"]
    assert not dedupe.seen("event-2"), "its input runs again after the abort"
    assert dedupe.seen("committed-before")
