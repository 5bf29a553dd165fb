"""pytest plugin: real-broker fixtures (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.admin import AdminClient

from agentstream.testing import (
    BrokerHandle,
    create_topic,
    delete_topics,
    start_test_broker,
    unique_name,
)


def _announce(config: pytest.Config, line: str) -> None:
    """Print a line to the terminal even while pytest captures output."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capman is not None:
        with capman.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(line, bold=True)
    else:
        reporter.write_line(line, bold=True)


@pytest.fixture(scope="session")
def kafka_broker(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[BrokerHandle]:
    """The session's broker. Fails (never skips) when no broker can be started."""
    try:
        handle = start_test_broker(tmp_path_factory.mktemp("agentstream-kafka"))
    except Exception as exc:
        pytest.fail(f"no Kafka broker could be started for the tests: {exc}", pytrace=False)
    _announce(request.config, f"agentstream: {handle.describe()}")
    yield handle
    # Clients the tests dropped but did not close would otherwise reconnect (and log refusals)
    # while the broker shuts down.
    gc.collect()
    handle.stop()


@pytest.fixture(scope="session")
def bootstrap_servers(kafka_broker: BrokerHandle) -> str:
    return kafka_broker.bootstrap_servers


@pytest.fixture(scope="session")
def kafka_admin(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers})


@pytest.fixture
def topic_factory(kafka_admin: AdminClient) -> Iterator[Callable[..., str]]:
    """``topic_factory(partitions=1, config=None, prefix="t")`` → a new unique topic name.

    Topics created through it are deleted after the test.
    """
    created: list[str] = []

    def make(partitions: int = 1, config: dict[str, str] | None = None, prefix: str = "t") -> str:
        name = unique_name(prefix)
        create_topic(kafka_admin, name, partitions=partitions, config=config)
        created.append(name)
        return name

    yield make
    delete_topics(kafka_admin, created)
