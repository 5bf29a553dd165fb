"""The limit: a bare confluent-kafka consume → decode → handle → encode → produce loop.

No framework, no per-key scheduling, no typed records: what the same bytes cost with the client
library and fastavro alone. Delivery:

- ``at_least_once``: consumed batches are produced asynchronously; a batch's offsets are committed
  only once every output of it (and of every earlier batch) is acknowledged by the broker.
- ``exactly_once``: one transaction per ~100 ms of input (Kafka Streams' default
  ``commit.interval.ms`` under EOS): outputs and input offsets commit atomically.

``--slow-ms`` sleeps per event, sequentially: a bare loop has no concurrency of its own.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _wire import Wire, emit_result, handle, mark_cpu, peer_args

CONTENDER = "bare-confluent"
_EOS_INTERVAL_S = 0.1


class _Batch:
    """Outputs of one consumed batch and the offsets that become committable once all are acked."""

    __slots__ = ("errors", "offsets", "pending")

    def __init__(self) -> None:
        self.pending = 0
        self.offsets: dict[tuple[str, int], int] = {}
        self.errors: list[str] = []

    def on_delivery(self, err: Any, _msg: Any) -> None:
        self.pending -= 1
        if err is not None:
            self.errors.append(str(err))


def _produce(producer: Producer, topic: str, key: bytes | None, value: bytes, cb: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=cb)
            return
        except BufferError:
            producer.poll(0.05)


def _commit(consumer: Consumer, offsets: dict[tuple[str, int], int], *, sync: bool) -> None:
    if offsets:
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        consumer.commit(offsets=tps, asynchronous=not sync)


Transform = Callable[[bytes], bytes]


def run_alos(args: Any, transform: Transform, consumer: Consumer, producer: Producer, *,
             contender: str = CONTENDER) -> None:
    done = 0
    started: float | None = None
    unacked: deque[_Batch] = deque()
    deadline = time.monotonic() + args.max_seconds
    produced = 0
    while done < args.count and time.monotonic() < deadline:
        msgs = consumer.consume(num_messages=1000, timeout=0.05)
        batch = _Batch()
        for m in msgs:
            if m.error() is not None:
                continue
            if started is None:
                started = time.monotonic()
                mark_cpu()
            if args.slow_ms:
                time.sleep(args.slow_ms / 1000)
            batch.pending += 1
            _produce(producer, args.output, m.key(), transform(m.value()),
                     batch.on_delivery)
            batch.offsets[(m.topic(), m.partition())] = m.offset() + 1
            produced += 1
        if batch.offsets:
            unacked.append(batch)
        producer.poll(0)
        while unacked and unacked[0].pending == 0:
            b = unacked.popleft()
            if b.errors:
                raise KafkaException(f"delivery failed: {b.errors[:3]}")
            _commit(consumer, b.offsets, sync=False)
        done = produced - sum(b.pending for b in unacked)
    producer.flush(30)
    merged: dict[tuple[str, int], int] = {}
    for b in unacked:
        if b.errors:
            raise KafkaException(f"delivery failed: {b.errors[:3]}")
        merged.update(b.offsets)
    _commit(consumer, merged, sync=True)
    emit_result(contender, processed=produced, started=started, mode="at_least_once")


def run_eos(args: Any, transform: Transform, consumer: Consumer, producer: Producer, *,
            contender: str = CONTENDER) -> None:
    producer.init_transactions(30)
    produced = 0
    started: float | None = None
    deadline = time.monotonic() + args.max_seconds
    while produced < args.count and time.monotonic() < deadline:
        producer.begin_transaction()
        window_end = time.monotonic() + _EOS_INTERVAL_S
        in_tx = 0
        while time.monotonic() < window_end and produced + in_tx < args.count:
            for m in consumer.consume(num_messages=1000, timeout=0.02):
                if m.error() is not None:
                    continue
                if started is None:
                    started = time.monotonic()
                    mark_cpu()
                if args.slow_ms:
                    time.sleep(args.slow_ms / 1000)
                _produce(producer, args.output, m.key(), transform(m.value()), None)
                in_tx += 1
        if in_tx:
            positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
            producer.send_offsets_to_transaction(
                positions, consumer.consumer_group_metadata(), 30
            )
            producer.commit_transaction(30)
            produced += in_tx
        else:
            producer.abort_transaction(30)
    emit_result(contender, processed=produced, started=started, mode="exactly_once")


def clients(args: Any) -> tuple[Consumer, Producer]:
    """The loop's consumer (subscribed to the input) and producer."""
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    pconf: dict[str, Any] = {
        "bootstrap.servers": args.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }
    if args.mode == "exactly_once":
        pconf["transactional.id"] = f"{args.group}-tx"
    producer = Producer(pconf)
    consumer.subscribe([args.input])
    return consumer, producer


def run(args: Any, transform: Transform, contender: str) -> None:
    consumer, producer = clients(args)
    try:
        (run_eos if args.mode == "exactly_once" else run_alos)(
            args, transform, consumer, producer, contender=contender)
    finally:
        consumer.close()


def main() -> None:
    args = peer_args(__doc__ or CONTENDER)
    wire = Wire.from_file(args.schema)
    run(args, lambda value: handle(wire, value, CONTENDER), CONTENDER)


if __name__ == "__main__":
    main()
