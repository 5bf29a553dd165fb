"""``Acks``: one future per handler attempt, and the dedupe marker only after every ack."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from confluent_kafka import KafkaError

from agentstream.runtime._producer import Acks, DeliveryError, _settle_many

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

    def _settle_later(self, fut: Any, error: BaseException | None, result: Any) -> None:
        self.settled.append((fut, error, result))

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.produced.append((topic, kwargs))

    def hand_over(self) -> None:
        batch, self.settled = self.settled, []
        _settle_many(batch)


async def test_marker_is_chained_after_the_last_ack() -> None:
    producer = _Producer(asyncio.get_running_loop())
    acks = Acks(producer)  # type: ignore[arg-type]
    acks.add()
    acks.add()
    done = acks.seal(MARKER)
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    assert producer.produced == [] and not done.done()
    acks.on_delivery(None, _Msg())  # type: ignore[arg-type]
    [(topic, kwargs)] = producer.produced
    assert (topic, kwargs["key"], kwargs["partition"], kwargs["value"]) == (
        MARKER[0], MARKER[1], MARKER[2], b""
    )
    producer.hand_over()
    assert not done.done()  # resolves only once the marker itself is acknowledged
    kwargs["on_delivery"](None, _Msg())
    producer.hand_over()
    assert await done is True
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
    assert producer.produced == []


async def test_a_lost_marker_is_left_to_the_engine() -> None:
    producer = _Producer(asyncio.get_running_loop())
    acks = Acks(producer)  # type: ignore[arg-type]
    done = acks.seal(MARKER)  # nothing pending: the marker goes out at once
    [(_, kwargs)] = producer.produced
    kwargs["on_delivery"](KafkaError(KafkaError._MSG_TIMED_OUT), _Msg())
    producer.hand_over()
    assert await done is False


async def test_nothing_to_wait_for_resolves_at_once() -> None:
    acks = Acks(_Producer(asyncio.get_running_loop()))  # type: ignore[arg-type]
    assert await acks.seal() is False
