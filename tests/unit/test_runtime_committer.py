"""At-least-once commits wait for the dedupe markers of the inputs they cover."""

from __future__ import annotations

import threading
from typing import Any

from agentstream.runtime import KeyOrderedScheduler, WorkItem
from agentstream.runtime._committer import Committer


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
