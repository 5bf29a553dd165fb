"""Agents under both consumer group protocols on the real broker: KIP-848 ``consumer``
(incremental assignment by the broker) and ``classic``.

A second instance joins while the first is handling a stream: every input is handled exactly
once, in order per key, and the group is of the protocol asked for.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from datetime import timedelta

import pytest
from confluent_kafka import ConsumerGroupType
from confluent_kafka.admin import AdminClient
from tests.integration.agents.harness import pr, produce_events, running, wait_for

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, Context
from agentstream.runtime._group import broker_supports_consumer_protocol, resolve_group_protocol

pytestmark = pytest.mark.timeout(240)


def test_the_broker_is_detected_as_supporting_kip848(bootstrap_servers: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    assert broker_supports_consumer_protocol(kafka) is True, "Apache Kafka 4.1 advertises it"
    assert resolve_group_protocol("auto", kafka) == "consumer"


def _group_type(bootstrap: str, group: str) -> ConsumerGroupType:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    [future] = admin.describe_consumer_groups([group]).values()
    return future.result(timeout=30).type


@pytest.mark.parametrize("protocol", ["consumer", "classic"])
def test_a_second_instance_joins_mid_stream(
    protocol: str, bootstrap_servers: str, topic_factory
) -> None:
    src = topic_factory(partitions=4)
    name = f"join-{protocol}-{src}"
    n = 800
    events = [pr(f"k{i % 16}", i) for i in range(n)]
    handled: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()
    agent = Agent(name)

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        await asyncio.sleep(0.005)
        with lock:
            handled[event.meta.subject].append(event.number)

    produce_events(bootstrap_servers, src, events[: n // 2])
    settings = {"group_protocol": protocol, "max_in_flight": 8, "shutdown_timeout":
                timedelta(seconds=10)}
    with running(agent, bootstrap_servers, **settings) as first:
        wait_for(lambda: sum(map(len, handled.values())) >= 50, timeout=timedelta(seconds=60),
                 what="the first instance handling")
        with running(agent, bootstrap_servers, **settings) as second:
            produce_events(bootstrap_servers, src, events[n // 2:])
            wait_for(lambda: sum(map(len, handled.values())) >= n,
                     timeout=timedelta(seconds=120), what=f"{n} inputs handled by the group")
            assert first.stats().pump.assigned and second.stats().pump.assigned, (
                "both instances hold partitions")
            assert second.stats().engine.handled > 0
            kind = _group_type(bootstrap_servers, name)
    assert kind == (ConsumerGroupType.CONSUMER if protocol == "consumer"
                    else ConsumerGroupType.CLASSIC)
    total = sum(map(len, handled.values()))
    assert total == n, f"{total - n} inputs handled twice across a clean join"
    for key, numbers in handled.items():
        assert numbers == [e.number for e in events if e.meta.subject == key], key
