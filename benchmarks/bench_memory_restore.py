"""Benchmark: restore rate of a memory store from its compacted changelog (target ≥ 200k/s).

Writes N small entities (key ``e0000001``, value ``{"n":<i>}``) to a compacted changelog topic
``memory.<agent>.bench`` on the broker at ``KAFKA_BOOTSTRAP_SERVERS`` (default 127.0.0.1:9092),
then times ``StoreManager.assign_blocking`` restoring every partition into local state, and
prints entities/s. The topic is deleted afterwards.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 .venv/bin/python benchmarks/bench_memory_restore.py \
        --entities 1000000 --partitions 1 --backend memory
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import timedelta
from typing import Literal

from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.memory import (
    KafkaChangelogWriter,
    StoreManager,
    StoreSpec,
    changelog_topic,
    ensure_changelog_topics,
)
from agentstream.testing import delete_topics


def fill(bootstrap: str, topic: str, entities: int, partitions: int) -> float:
    writer = KafkaChangelogWriter.from_config(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 100,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    t0 = time.perf_counter()
    for i in range(entities):
        writer.produce(topic, i % partitions, b"e%07d" % i, b'{"n":%d}' % i)
    writer.flush(timedelta(minutes=5))
    return time.perf_counter() - t0


def restore(
    bootstrap: str, agent: str, partitions: int, backend: Literal["memory", "rocksdb"]
) -> tuple[float, int]:
    manager = StoreManager(
        agent,
        [StoreSpec("bench", backend=backend)],
        writer=KafkaChangelogWriter.from_config({"bootstrap.servers": bootstrap}),
        settings=KafkaSettings(bootstrap_servers=bootstrap),
        restore_concurrency=partitions,
    )
    try:
        t0 = time.perf_counter()
        manager.assign_blocking(range(partitions), timeout=timedelta(minutes=10))
        elapsed = time.perf_counter() - t0
        return elapsed, manager.store("bench").count()
    finally:
        manager.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--backend", choices=("memory", "rocksdb"), default="memory")
    ap.add_argument("--runs", type=int, default=3, help="restores timed; the best is reported")
    args = ap.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    agent = f"bench_{uuid.uuid4().hex[:8]}"
    topic = changelog_topic(agent, "bench")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ensure_changelog_topics(admin, [topic], partitions=args.partitions)
    try:
        wrote = fill(bootstrap, topic, args.entities, args.partitions)
        print(f"wrote {args.entities:,} entities in {wrote:.2f}s "
              f"({args.entities / wrote:,.0f}/s)")
        rates = []
        for run in range(args.runs):
            elapsed, count = restore(bootstrap, agent, args.partitions, args.backend)
            if count != args.entities:
                sys.exit(f"restore found {count} entities, expected {args.entities}")
            rates.append(count / elapsed)
            print(f"run {run + 1}: restored {count:,} entities in {elapsed:.2f}s "
                  f"= {count / elapsed:,.0f} entities/s")
        print(f"memory restore ({args.backend}, {args.partitions} partition(s)): "
              f"best {max(rates):,.0f} entities/s (target >= 200,000/s)")
        print("command: KAFKA_BOOTSTRAP_SERVERS=" + bootstrap + " python "
              + " ".join(["benchmarks/bench_memory_restore.py", *sys.argv[1:]]))
    finally:
        delete_topics(admin, [topic])


if __name__ == "__main__":
    main()
