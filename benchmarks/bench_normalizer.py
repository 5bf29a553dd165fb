"""Normalizer throughput: raw GitHub deliveries on ``ingest.github`` → semantic events on
``events.code``, through the normalizer agent (services/normalizer) on a real broker.

Run:  KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_normalizer.py \\
          [--records 20000]

The records are real webhook payloads (pull requests opened / review requested / merged, issue
comments, failed workflow jobs, plus ``synchronize`` deliveries that are skipped), each with its
own delivery id, keyed by repository (``--repos`` of them; one repository's deliveries are
handled in order, one after the other), produced before the agent starts. Timed: from the
agent's partition assignment to the last semantic event acknowledged on events.code
(at-least-once, dedupe on). Also printed:
``Normalizer.normalize`` alone on the same records (no Kafka), the ceiling of the service.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))
from _common import broker  # noqa: E402
from services.normalizer.agent import make_agent  # noqa: E402

from agentstream.config import KafkaSettings  # noqa: E402
from agentstream.connectors import Normalizer, make_raw  # noqa: E402
from agentstream.runtime import AgentRunner, AgentSettings  # noqa: E402
from agentstream.serde import make_serde  # noqa: E402
from agentstream.testing import create_topic, delete_topics, unique_name  # noqa: E402

GH = ROOT / "tests" / "data" / "github"
MIX = [
    ("pull_request", "pull_request/opened.json"),
    ("pull_request", "pull_request/review_requested.json"),
    ("pull_request", "pull_request/closed.merged.json"),
    ("issue_comment", "issue_comment/created.json"),
    ("workflow_job", "workflow_job/completed.failure.json"),
    ("pull_request", "pull_request/synchronize.json"),  # skipped: nothing of interest
]


def _count(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("wm")})
    try:
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in range(3))
    finally:
        c.close()


def _produce(bootstrap: str, topic: str, serde: Any, raws: list, repos: int) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "compression.type": "lz4",
        }
    )
    for i, raw in enumerate(raws):
        # Keyed by repository as the gateway does, spread over --repos repositories: one
        # repository's deliveries are handled in order, one at a time.
        key = f"org/repo-{i % repos}".encode()
        while True:
            try:
                producer.produce(topic, key=key, value=serde.encode(topic, raw))
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--repos", type=int, default=200, help="distinct Kafka keys (repositories)")
    opts = p.parse_args()
    bodies = [(event, (GH / rel).read_bytes()) for event, rel in MIX]
    raws = [
        make_raw(
            "github",
            bodies[i % len(bodies)][0],
            bodies[i % len(bodies)][1],
            delivery_id=str(uuid.uuid4()),
        )
        for i in range(opts.records)
    ]
    expected = sum(1 for i in range(opts.records) if i % len(bodies) != len(bodies) - 1)

    norm = Normalizer()
    t0 = time.perf_counter()
    made = sum(len(norm.normalize(r).events) for r in raws)
    bare = time.perf_counter() - t0
    assert made == expected, (made, expected)

    with broker() as (bootstrap, described):
        prefix = unique_name("benchnorm") + "."
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = [
            f"{prefix}ingest.github",
            f"{prefix}events.code",
            f"{prefix}ingest.slack",
            f"{prefix}ingest.calendar",
        ]
        for t in topics:
            create_topic(admin, t, partitions=3)
        kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
        serde = make_serde(kafka)
        _produce(bootstrap, topics[0], serde, raws, opts.repos)
        agent = make_agent(name=unique_name("normalizer"), topic_prefix=prefix)
        runner = AgentRunner(agent, settings=AgentSettings(ops_port=None), kafka=kafka)
        thread = threading.Thread(target=lambda: asyncio.run(runner.run()), daemon=True)
        thread.start()
        try:
            if not runner.wait_ready(60):
                raise SystemExit("the normalizer got no partitions within 60 s")
            started = time.perf_counter()
            deadline = time.monotonic() + 600
            while (n := _count(bootstrap, topics[1])) < expected:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {n} of {expected} events within 600 s")
                time.sleep(0.05)
            took = time.perf_counter() - started
        finally:
            runner.stop()
            thread.join(60)
            delete_topics(admin, [*topics, f"{prefix}dlq.{agent.name}"])
    print(
        f"bench_normalizer: {opts.records} raw GitHub deliveries ({len(MIX)} kinds, 1 in "
        f"{len(MIX)} skipped) over {opts.repos} repositories, {described}"
    )
    print(
        f"  service:   {expected} events in {took:.2f} s = {expected / took:,.0f} events/s "
        f"({opts.records / took:,.0f} raw records/s) from ingest.github to events.code"
    )
    print(f"  normalize alone (no Kafka): {opts.records / bare:,.0f} raw records/s")
    print(
        f"reproduce: KAFKA_BOOTSTRAP_SERVERS=... .venv/bin/python benchmarks/bench_normalizer.py "
        f"--records {opts.records} --repos {opts.repos}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
