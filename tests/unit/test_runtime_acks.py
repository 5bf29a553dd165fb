"""``Acks``: one future per handler attempt, and the dedupe marker only after every ack;
the producer writes the markers due in one poll as one record per marker partition."""

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

MARKER = ("_agentstream.dedupe.a", b"id-1", 0)


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
        self.markers: list[Any] = []

    def _queue_marker(self, marker: Any, done: Any) -> None:
        self.markers.append((marker, done))

    def _settle_later(self, fut: Any, error: BaseException | None, result: Any) -> None:
        self.settled.append((fut, error, result))

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.produced.append((topic, kwargs))

    def hand_over(self) -> None:
        batch, self.settled = self.settled, []
        _settle_many(batch)


async def test_marker_is_queued_after_the_last_ack() -> None:
    producer = _Producer(asyncio.get_running_loop())
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    acks.add()
    done = acks.seal(MARKER)
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    assert producer.markers == [] and not done.done()
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    [(marker, fut)] = producer.markers
    assert marker == MARKER and fut is done
    assert not done.done()  # resolves only once the marker itself is acknowledged
    assert acks.seal() is done


async def test_a_failed_record_fails_the_attempt_and_writes_no_marker() -> None:
    producer = _Producer(asyncio.get_running_loop())
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    acks.add()
    acks.on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())  # type: ignore[arg-type]
    done = acks.seal(MARKER)
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    producer.hand_over()
    with pytest.raises(DeliveryError, match="record to out not delivered"):
        await done
    assert producer.markers == []


async def test_nothing_to_wait_for_resolves_at_once() -> None:
    acks = Acks(_Producer(asyncio.get_running_loop()))  # type: ignore[arg-type]
    assert await acks.seal() is False


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
    out._markers = []
    return out


async def test_markers_of_one_poll_share_one_record_per_partition() -> None:
    kafka = _Kafka()
    producer = _producer_with(kafka)
    loop = asyncio.get_running_loop()
    dones = [loop.create_future() for _ in range(4)]
    for (key, part), done in zip([(b"a", 0), (b"b", 1), (b"c", 0), (b'd"\n', 0)], dones,
                                 strict=True):
        producer._queue_marker(("dd", key, part), done)
    producer._flush_markers()
    by_part = {r["partition"]: r for r in kafka.records}
    assert sorted(by_part) == [0, 1] and len(kafka.records) == 2
    assert decode_markers(None, by_part[0]["value"]) == ["a", "c", 'd"\n']
    assert decode_markers(None, by_part[1]["value"]) == ["b"]
    assert not any(d.done() for d in dones), "resolved only by the record's delivery report"
    by_part[0]["on_delivery"](None, _Msg())
    by_part[1]["on_delivery"](KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())
    producer._hand_over()
    await asyncio.sleep(0)
    assert [d.result() for d in dones] == [True, False, True, True]


async def test_a_refused_marker_batch_is_left_to_the_engine() -> None:
    producer = _producer_with(_Kafka(refuse=True))
    done = asyncio.get_running_loop().create_future()
    producer._queue_marker(("dd", b"a", 0), done)
    producer._flush_markers()
    producer._hand_over()
    assert await done is False


def test_single_markers_written_by_the_engine_still_decode() -> None:
    assert decode_markers(b"id-1", b"") == ["id-1"]
    assert decode_markers(None, None) == []
    assert decode_markers(None, encode_markers([b"x", b"y"])) == ["x", "y"]


async def test_on_acked_runs_before_the_marker_is_acknowledged() -> None:
    producer = _Producer(asyncio.get_running_loop())
    calls: list[str] = []
    producer._call_on_loop = lambda fn: calls.append("queued") or fn()  # type: ignore[attr-defined]
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    done = acks.seal(MARKER, on_acked=lambda: calls.append("acked"))
    assert calls == []
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    assert calls == ["queued", "acked"] and len(producer.markers) == 1 and not done.done()


async def test_on_acked_is_not_called_when_a_record_failed() -> None:
    producer = _Producer(asyncio.get_running_loop())
    calls: list[str] = []
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    acks.seal(MARKER, on_acked=lambda: calls.append("acked"))
    acks.on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())  # type: ignore[arg-type]
    assert calls == [] and producer.markers == []
