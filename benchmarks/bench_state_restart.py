"""Benchmark: time to ready after a restart with durable local state vs a cold restore.

Writes N entities (key ``e0000001``, value ``{"n":<i>}``) straight to a compacted changelog
``memory.<agent>.bench`` on the broker at ``KAFKA_BOOTSTRAP_SERVERS`` (default 127.0.0.1:9092),
then times, for a ``backend="rocksdb"`` store, from building the ``StoreManager`` to
``assign_blocking`` returning (every partition ready):

1. first start with a state directory (no local state yet): the whole changelog, into the
   durable database;
2. after writing a tail of T more records (updates of existing entities) to the changelog,
   a warm restart from the state directory: only the tail is read;
3. a cold restore of the same changelog without a state directory (every start before durable
   state): all of it, into a temporary RocksDB.

It checks that the warm restart read exactly T records and, with ``--verify`` (default on), that
its state equals the cold restore's (a digest over every entity). Topic and directory are removed
afterwards. Last, what durability costs a handler: local writes/s of the three backends (100k
puts over 20k keys; a durable store keeps a pre-image per key and RocksDB's write-ahead log).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_state_restart.py \
        --entities 1000000 --tail 10000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.memory import (
    DictState,
    KafkaChangelogWriter,
    LocalState,
    RocksState,
    StoreManager,
    StoreSpec,
    changelog_topic,
    ensure_changelog_topics,
)
from agentstream.memory._persist import Checkpoint, PersistentState
from agentstream.testing import delete_topics

SPEC = StoreSpec("bench", backend="rocksdb")


def produce(bootstrap: str, topic: str, keys: range, partitions: int, *, salt: int = 0) -> float:
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
    for i in keys:
        writer.produce(topic, i % partitions, b"e%07d" % i, b'{"n":%d}' % (i + salt))
    writer.flush(timedelta(minutes=5))
    return time.perf_counter() - t0


def start(
    bootstrap: str, agent: str, partitions: int, durable: Path | None
) -> tuple[StoreManager, float]:
    t0 = time.perf_counter()
    manager = StoreManager(
        agent,
        [SPEC],
        writer=KafkaChangelogWriter.from_config({"bootstrap.servers": bootstrap}),
        settings=KafkaSettings(bootstrap_servers=bootstrap),
        restore_concurrency=partitions,
        durable_dir=durable,
    )
    manager.assign_blocking(range(partitions), timeout=timedelta(minutes=20))
    return manager, time.perf_counter() - t0


def digest(manager: StoreManager, partitions: int) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for p in range(partitions):
        for _, k, v in manager.store("bench").raw_items(partition=p):  # in key order
            h.update(k)
            h.update(b"\0")
            h.update(v)
            h.update(b"\1")
            n += 1
    return n, h.hexdigest()


def records_read(manager: StoreManager, partitions: int) -> int:
    total = 0
    for p in range(partitions):
        st = manager.restore_stats(p)
        total += 0 if st is None else st.records
    return total


def write_rates(root: Path, n: int = 100_000) -> dict[str, float]:
    out: dict[str, float] = {}
    durable = PersistentState(root / "writes-durable", topic="t", partition=0)
    durable.finish(Checkpoint("t", 0, 0, 0.0))
    states: list[tuple[str, LocalState]] = [
        ("dict", DictState()),
        ("rocksdb temporary", RocksState(root / "writes-temporary")),
        ("rocksdb durable", durable),
    ]
    for name, st in states:
        t0 = time.perf_counter()
        for i in range(n):
            st.put(b"k%d" % (i % 20_000), b'{"n":%d}' % i)
        out[name] = n / (time.perf_counter() - t0)
        st.destroy()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--tail", type=int, default=10_000, help="records written after the stop")
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--no-verify", dest="verify", action="store_false",
                    help="skip comparing the warm state with the cold one")
    args = ap.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    agent = f"bench_{uuid.uuid4().hex[:8]}"
    topic = changelog_topic(agent, "bench")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ensure_changelog_topics(admin, [topic], partitions=args.partitions)
    root = Path(tempfile.mkdtemp(prefix="bench-state-"))
    n, parts = args.entities, args.partitions
    try:
        wrote = produce(bootstrap, topic, range(n), parts)
        print(f"wrote {n:,} entities to {topic} in {wrote:.2f}s ({n / wrote:,.0f}/s)")

        m, first_s = start(bootstrap, agent, parts, root)
        m.close()
        print(f"first start with a state dir (empty): ready in {first_s:7.2f}s "
              f"({n / first_s:,.0f} records/s)")

        tail = args.tail
        produce(bootstrap, topic, range(tail), parts, salt=1)
        m, warm_s = start(bootstrap, agent, parts, root)
        read = records_read(m, parts)
        warm = all(
            (st := m.restore_stats(p)) is not None and all(st.warm.values()) for p in range(parts)
        )
        warm_digest = digest(m, parts) if args.verify else None
        m.close()
        if not warm or read != tail:
            sys.exit(f"warm restart read {read} records (expected the tail, {tail}); warm={warm}")
        print(f"warm restart ({tail:,}-record tail):     ready in {warm_s:7.2f}s "
              f"(read {read:,} changelog records)")

        # The same changelog (entities + tail) restored cold, as every start without a state dir.
        m, cold_s = start(bootstrap, agent, parts, None)
        count = m.store("bench").count()
        cold_digest = digest(m, parts) if args.verify else None
        m.close()
        if count != n:
            sys.exit(f"cold restore found {count} entities, expected {n}")
        if warm_digest != cold_digest:
            sys.exit("warm state differs from a cold restore of the same changelog")
        print(f"cold restore (no state dir):          ready in {cold_s:7.2f}s "
              f"({(n + tail) / cold_s:,.0f} records/s)")
        print(f"state restart at {n:,} entities, {parts} partition(s): warm {warm_s:.2f}s vs "
              f"cold {cold_s:.2f}s = {cold_s / warm_s:,.0f}x faster to ready"
              + ("; warm state == cold restore (digest of every entity)" if args.verify else ""))
        rates = write_rates(root)
        print("local writes/s: " + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items()))
        print("command: KAFKA_BOOTSTRAP_SERVERS=" + bootstrap + " python "
              + " ".join(["benchmarks/bench_state_restart.py", *sys.argv[1:]]))
    finally:
        delete_topics(admin, [topic])
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
