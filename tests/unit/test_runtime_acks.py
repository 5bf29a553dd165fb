"""``Acks``: one outcome per handler attempt after every ack; the producer writes the dedupe
markers queued by one poll as one record per marker partition, again after a failure, and tells
commits which markers are acknowledged."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from confluent_kafka import KafkaError

from agentstream.runtime._producer import (
    Acks,
    DeliveryError,
    OutputProducer,
    _settle_many,
    decode_markers,
    encode_markers,
)


class _Msg:
    def topic(self) -> str:
        return "out"


class _Producer:
    """Stands in for ``OutputProducer`` (and its confluent producer): records what happens."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._producer = self
        self.settled: list[Any] = []
        self.produced: list[tuple[str, dict[str, Any]]] = []

    def _settle_later(self, fut: Any, error: BaseException | None, result: Any) -> None:
        self.settled.append((fut, error, result))

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.produced.append((topic, kwargs))

    def hand_over(self) -> None:
        batch, self.settled = self.settled, []
        _settle_many(batch)


async def test_outcome_arrives_once_after_the_last_ack() -> None:
    producer = _Producer(asyncio.get_running_loop())
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    acks.add()
    done = acks.seal()
    assert done is not None
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    producer.hand_over()
    assert not done.done()
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    producer.hand_over()
    await done
    assert done.exception() is None and acks.seal() is done


async def test_on_done_callback_instead_of_a_future() -> None:
    producer = _Producer(asyncio.get_running_loop())
    outcomes: list[Any] = []
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    assert acks.seal(on_done=lambda err, _: outcomes.append(err)) is None
    assert outcomes == [] and not acks.finished
    acks.on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())  # type: ignore[arg-type]
    assert acks.finished and outcomes == []  # handed over to the loop, not called here
    producer.hand_over()
    [err] = outcomes
    assert isinstance(err, DeliveryError) and "record to out not delivered" in str(err)
    with pytest.raises(RuntimeError):
        acks.seal()


async def test_a_failed_record_fails_the_attempt() -> None:
    producer = _Producer(asyncio.get_running_loop())
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    acks.add()
    acks.on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())  # type: ignore[arg-type]
    done = acks.seal()
    assert done is not None
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    producer.hand_over()
    with pytest.raises(DeliveryError, match="record to out not delivered"):
        await done


async def test_nothing_to_wait_for_resolves_at_once() -> None:
    acks = Acks(_Producer(asyncio.get_running_loop()))  # type: ignore[arg-type]
    done = acks.seal()
    assert done is not None and done.done() and done.exception() is None


class _Kafka:
    """Stands in for the confluent producer inside a real ``OutputProducer``."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.records: list[dict[str, Any]] = []

    def produce(self, topic: str, **kwargs: Any) -> None:
        if self.refuse:
            raise BufferError("queue full")
        self.records.append({"topic": topic, **kwargs})


def _producer_with(kafka: _Kafka) -> OutputProducer:
    loop = asyncio.get_running_loop()
    out = OutputProducer.__new__(OutputProducer)
    out._loop = loop
    out._producer = kafka  # type: ignore[assignment]
    out._settled = []
    out._settled_lock = threading.Lock()
    out._marker_lock = threading.Condition(threading.Lock())
    out._marker_seq = 0
    out._markers = []
    out._marker_batches = {}
    out._marker_retry = []
    out.transactional = False
    return out


async def test_markers_of_one_poll_share_one_record_per_partition() -> None:
    kafka = _Kafka()
    producer = _producer_with(kafka)
    for key, part in [(b"a", 0), (b"b", 1), (b"c", 0), (b'd"\n', 0)]:
        producer.queue_marker("dd", key, part)
    assert producer.markers_queued == 4 and producer.markers_acked_through() == 0
    producer._flush_markers()
    by_part = {r["partition"]: r for r in kafka.records}
    assert sorted(by_part) == [0, 1] and len(kafka.records) == 2
    assert decode_markers(None, by_part[0]["value"]) == ["a", "c", 'd"\n']
    assert decode_markers(None, by_part[1]["value"]) == ["b"]
    assert producer.markers_acked_through() == 0, "acknowledged only by the delivery report"
    by_part[1]["on_delivery"](None, _Msg())
    assert producer.markers_acked_through() == 0, "marker 1 (partition 0) is still unacked"
    assert not producer.wait_markers(1, timeout=0.01)
    by_part[0]["on_delivery"](None, _Msg())
    assert producer.markers_acked_through() == 4 and producer.wait_markers(4, timeout=0.01)


async def test_a_failed_marker_batch_is_written_again_and_holds_commits_back() -> None:
    kafka = _Kafka()
    producer = _producer_with(kafka)
    producer.queue_marker("dd", b"a", 0)
    producer.queue_marker("dd", b"b", 1)
    producer._flush_markers()
    first = {r["partition"]: r for r in kafka.records}
    first[0]["on_delivery"](KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())
    first[1]["on_delivery"](None, _Msg())
    assert producer.markers_acked_through() == 0
    producer.queue_marker("dd", b"c", 1)
    kafka.records.clear()
    producer._flush_markers()
    again = [(r["partition"], decode_markers(None, r["value"])) for r in kafka.records]
    assert sorted(again) == [(0, ["a"]), (1, ["c"])]
    for r in kafka.records:
        r["on_delivery"](None, _Msg())
    assert producer.markers_acked_through() == 3


async def test_a_refused_marker_batch_is_written_with_the_next_flush() -> None:
    kafka = _Kafka(refuse=True)
    producer = _producer_with(kafka)
    producer.queue_marker("dd", b"a", 0)
    producer._flush_markers()
    assert kafka.records == [] and producer.markers_acked_through() == 0
    kafka.refuse = False
    producer._flush_markers()
    [record] = kafka.records
    record["on_delivery"](None, _Msg())
    assert producer.markers_acked_through() == 1


def test_single_key_markers_of_earlier_versions_still_decode() -> None:
    assert decode_markers(b"id-1", b"") == ["id-1"]
    assert decode_markers(None, None) == []
    assert decode_markers(None, encode_markers([b"x", b"y"])) == ["x", "y"]
