"""Test helpers for AgentStream and for users' own agents.

Installed with AgentStream as a pytest plugin (entry point ``agentstream``), so these fixtures are
available in any test suite:

- ``kafka_broker`` (session): a real broker, chosen as
  ``KAFKA_BOOTSTRAP_SERVERS`` if set → that cluster; else ``AGENTSTREAM_TEST_BROKER=docker`` →
  testcontainers' Kafka module; else a local broker from Apache Kafka's jars in a temporary
  directory on free ports. If none can be started the test *fails* with the reason.
- ``bootstrap_servers``, ``kafka_admin``, ``topic_factory`` (unique, auto-deleted topics).

The plain functions below (``create_topic``, ``produce``, ``consume_until``) take deadlines on
every wait and raise ``WaitTimeoutError`` naming what they were waiting for.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from agentstream.bus import TopicNotReadyError, make_consumer, make_producer, wait_for_leaders
from agentstream.clock import VirtualClock
from agentstream.errors import AgentStreamError, BrokerStartError
from agentstream.localkafka import LocalBroker, free_port
from agentstream.testing._memory import AgentTestbed, MemoryBus, TestbedTimeoutError
from agentstream.testing._openai import OpenAIServer, Reply, SeenRequest
from agentstream.testing._slack import SlackPost, SlackStubError, SlackWebStub

__all__ = [
    "AgentTestbed",
    "BrokerHandle",
    "MemoryBus",
    "OpenAIServer",
    "Reply",
    "SeenRequest",
    "SlackPost",
    "SlackStubError",
    "SlackWebStub",
    "TestbedTimeoutError",
    "VirtualClock",
    "WaitTimeoutError",
    "consume_until",
    "consumer",
    "create_topic",
    "delete_topics",
    "produce",
    "start_test_broker",
    "unique_name",
]


class WaitTimeoutError(AgentStreamError):
    """A test helper's deadline passed; the message says what was awaited and what was seen."""


@dataclass
class BrokerHandle:
    """A broker the tests use: where it is, how it was obtained, and how to stop it."""

    bootstrap_servers: str
    kind: str  # "external" | "local" | "docker"
    version: str = "unknown"
    started_in: float = 0.0
    local: LocalBroker | None = None
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def describe(self) -> str:
        if self.kind == "local":
            return (
                f"Apache Kafka {self.version} (KRaft, local jars) started at "
                f"{self.bootstrap_servers} in {self.started_in:.1f}s"
            )
        return f"Kafka ({self.kind}) at {self.bootstrap_servers}"

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def unique_name(prefix: str = "t") -> str:
    """A topic or group name no other test uses: ``<prefix>-<12 hex chars>``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def start_test_broker(tmp_dir: Path) -> BrokerHandle:
    """Obtain a broker for a test session (see the module docstring for the order of choice)."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return BrokerHandle(bootstrap_servers=external, kind="external")
    if os.environ.get("AGENTSTREAM_TEST_BROKER", "").lower() == "docker":
        return _start_docker_broker()
    port = free_port()
    controller = free_port()
    while controller == port:
        controller = free_port()
    broker = LocalBroker(tmp_dir / "broker", port=port, controller_port=controller)
    t0 = time.monotonic()
    broker.start()
    return BrokerHandle(
        bootstrap_servers=broker.bootstrap_servers,
        kind="local",
        version=broker.version,
        started_in=time.monotonic() - t0,
        local=broker,
        _stop=lambda: _discard(broker.stop()),
    )


def _discard(_: object) -> None:
    return None


def _start_docker_broker() -> BrokerHandle:
    try:
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise BrokerStartError(
            "AGENTSTREAM_TEST_BROKER=docker needs testcontainers: pip install 'agentstream[docker]'"
        ) from exc
    container = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    t0 = time.monotonic()
    try:
        container.start()
    except Exception as exc:
        raise BrokerStartError(f"could not start Kafka in Docker: {exc}") from exc
    return BrokerHandle(
        bootstrap_servers=container.get_bootstrap_server(),
        kind="docker",
        version="4.1.1",
        started_in=time.monotonic() - t0,
        _stop=container.stop,
    )


def create_topic(
    admin: AdminClient,
    name: str,
    *,
    partitions: int = 1,
    config: dict[str, str] | None = None,
    timeout: timedelta = timedelta(seconds=30),
) -> str:
    """Create a topic (failing if it exists) and wait until every partition has a leader."""
    fut = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=timeout.total_seconds(),
    )[name]
    fut.result(timeout=timeout.total_seconds())
    try:
        wait_for_leaders(admin, name, timeout=timeout)
    except TopicNotReadyError as exc:
        raise WaitTimeoutError(str(exc)) from exc
    return name


def delete_topics(admin: AdminClient, names: Iterable[str], *, timeout: float = 30) -> None:
    """Delete topics, ignoring ones that are already gone."""
    names = list(names)
    if not names:
        return
    for fut in admin.delete_topics(names, operation_timeout=timeout).values():
        with contextlib.suppress(KafkaException):  # already gone
            fut.result(timeout=timeout)


def produce(
    bootstrap_servers: str,
    topic: str,
    records: Iterable[tuple[bytes | str | None, bytes | str | None]],
    *,
    config: dict[str, Any] | None = None,
    timeout: timedelta = timedelta(seconds=30),
) -> int:
    """Produce ``(key, value)`` pairs and wait until every one is acknowledged (acks=all)."""
    producer = make_producer(
        {"bootstrap.servers": bootstrap_servers, "enable.idempotence": True, **(config or {})}
    )
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Message) -> None:
        if err is not None:
            errors.append(str(err))

    n = 0
    for key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        n += 1
    remaining = producer.flush(timeout.total_seconds())
    if remaining:
        raise WaitTimeoutError(
            f"{remaining} of {n} records to {topic} not acknowledged in {timeout}"
        )
    if errors:
        raise AgentStreamError(f"{len(errors)} records to {topic} failed: {errors[:3]}")
    return n


@contextmanager
def consumer(bootstrap_servers: str, group: str | None = None, **config: Any) -> Iterator[Consumer]:
    """A consumer reading from the earliest offset; closed on exit."""
    c = make_consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group or unique_name("g"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **config,
        }
    )
    try:
        yield c
    finally:
        c.close()


def consume_until(
    c: Consumer,
    *,
    count: int | None = None,
    until: Callable[[list[Message]], bool] | None = None,
    timeout: timedelta = timedelta(seconds=30),
) -> list[Message]:
    """Poll until ``count`` messages arrived or ``until(messages)`` holds; raise at the deadline."""
    if count is None and until is None:
        raise ValueError("consume_until needs count= or until=")
    got: list[Message] = []
    deadline = time.monotonic() + timeout.total_seconds()

    def done() -> bool:
        if count is not None and len(got) >= count:
            return True
        return until is not None and until(got)

    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(
                f"waited {timeout} for {count if count is not None else 'a condition'} messages, "
                f"got {len(got)}"
            )
        msg = c.poll(min(left, 0.5))
        if msg is None:
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:  # end of a partition: not an error
                continue
            raise AgentStreamError(f"consume error: {err}")
        got.append(msg)
    return got
