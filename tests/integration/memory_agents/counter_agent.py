"""A tiny agent process for the memory recovery tests (run as a child, killed with SIGKILL).

It consumes ``--input`` (values are integer amounts, keys are entities) in consumer group
``--group`` and folds per-key totals into the memory store ``counts`` of agent ``--agent``.
Restores happen in the rebalance callback, before any event of a partition is handled.

- ``--mode alo``: changelog flushed, THEN offsets committed. Replays after a crash are skipped by
  the reducer itself (it keeps the offset of the last event it folded: one key lives in one
  partition, in order), so the state is exact.
- ``--mode eos``: changelog writes and input offsets commit in one Kafka transaction.

It prints ``{"port": N}`` once its ops server (with ``/memory``) listens, and exits on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from agentstream.config import KafkaSettings
from agentstream.memory import KafkaChangelogWriter, StoreManager, StoreSpec, memory_route
from agentstream.ops import OpsServer


def fold(state: dict[str, int] | None, event: dict[str, Any]) -> dict[str, int]:
    if state is not None and event["offset"] <= state["last"]:
        return state  # a replay of an event already folded in
    return {"total": (state or {"total": 0})["total"] + event["amount"], "last": event["offset"]}


def commit(
    args: argparse.Namespace,
    consumer: Consumer,
    producer: Producer,
    writer: KafkaChangelogWriter,
    pending: dict[int, int],
) -> None:
    tps = [TopicPartition(args.input, p, o) for p, o in pending.items()]
    if args.mode == "eos":
        producer.send_offsets_to_transaction(tps, consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(30)
        producer.begin_transaction()
        pending.clear()
        return
    writer.flush()  # changelog first ...
    try:
        consumer.commit(offsets=tps, asynchronous=False)  # ... then the offsets
        pending.clear()
    except KafkaException as exc:
        # A rebalance raced the commit: try again next round (or the next owner replays them).
        print(f"commit failed, will retry: {exc}", file=sys.stderr, flush=True)


def make_producer(args: argparse.Namespace) -> Producer:
    conf: dict[str, Any] = {
        "bootstrap.servers": args.bootstrap, "enable.idempotence": True, "linger.ms": 5
    }
    if args.mode == "eos":
        conf["transactional.id"] = f"{args.agent}-{args.instance}"
    producer = Producer(conf)
    if args.mode == "eos":
        producer.init_transactions(30)
        producer.begin_transaction()
    return producer


def make_consumer(args: argparse.Namespace) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "group.instance.id": args.instance,  # a restart takes its partitions back at once
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "cooperative-sticky",
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("--bootstrap", "--input", "--group", "--agent", "--instance"):
        ap.add_argument(name, required=True)
    ap.add_argument("--mode", choices=("alo", "eos"), default="alo")
    args = ap.parse_args()

    producer = make_producer(args)
    writer = KafkaChangelogWriter(producer)
    manager = StoreManager(
        args.agent,
        [StoreSpec("counts", reducer=fold, key_of=lambda e: e["key"])],
        writer=writer,
        settings=KafkaSettings(bootstrap_servers=args.bootstrap),
    )
    ops = OpsServer(host="127.0.0.1", port=0)
    ops.add_json_route("/memory", memory_route(manager))
    ops.start()

    consumer = make_consumer(args)

    pending: dict[int, int] = {}  # partition -> next offset folded but not yet committed

    def on_assign(_c: Consumer, parts: list[TopicPartition]) -> None:
        manager.assign_blocking([p.partition for p in parts])

    def on_revoke(_c: Consumer, parts: list[TopicPartition]) -> None:
        # Hand over cleanly: changelog flushed and offsets committed before the partition goes,
        # so its next owner restores everything this process wrote.
        if pending:
            commit(args, consumer, producer, writer, pending)
        for p in parts:
            pending.pop(p.partition, None)  # not committed: the next owner replays (and skips)
        manager.revoke([p.partition for p in parts])

    consumer.subscribe([args.input], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    stop = False

    def on_term(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    print(json.dumps({"port": ops.port}), flush=True)

    while not stop:
        for m in consumer.consume(100, timeout=0.2):
            if m.error() is None:
                event = {"key": m.key().decode(), "amount": int(m.value()), "offset": m.offset()}
                manager.apply(event, m.partition())
                pending[m.partition()] = m.offset() + 1
        if pending:
            commit(args, consumer, producer, writer, pending)
    consumer.close()
    manager.close()
    ops.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
