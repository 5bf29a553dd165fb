"""One behavioural suite, two transports: a real Kafka broker and the in-memory bus.

Every test here takes ``bootstrap_servers`` and runs once per transport (``[kafka]`` and
``[memory]``), so the in-memory bus that users test their agents on cannot drift from Kafka in
anything this suite asserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.admin import AdminClient

from agentstream.bus import make_admin
from agentstream.testing import MemoryBus, create_topic, delete_topics, unique_name


@pytest.fixture(params=["kafka", "memory"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def bootstrap_servers(request: pytest.FixtureRequest, transport: str) -> Iterator[str]:
    if transport == "kafka":
        yield request.getfixturevalue("kafka_broker").bootstrap_servers
        return
    bus = MemoryBus()
    try:
        yield bus.bootstrap_servers
    finally:
        bus.close()


@pytest.fixture
def kafka_admin(bootstrap_servers: str) -> AdminClient:
    return make_admin({"bootstrap.servers": bootstrap_servers})


@pytest.fixture
def topic_factory(kafka_admin: AdminClient) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(partitions: int = 1, config: dict[str, str] | None = None, prefix: str = "c") -> str:
        name = unique_name(prefix)
        create_topic(kafka_admin, name, partitions=partitions, config=config)
        created.append(name)
        return name

    yield make
    delete_topics(kafka_admin, created)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/contract" in str(item.path) and "[kafka" in item.nodeid:
            item.add_marker(pytest.mark.kafka)
