"""``Announcer``: a running agent instance publishes its interface and withdraws it when it stops.

The descriptor (``agentstream.platform.AgentDescriptor``) is built from the agent's declaration:
consumes = the handlers grouped by input topic, emits = ``emits_to`` plus ``emits`` (unknown topic
``*``). It goes to the compacted ``_agentstream.agents`` topic keyed ``<agent>/<instance>``; the
consumer's ``client.id`` is the same instance id, so ``read_topology`` tells live instances (members
of the consumer group) from stale ones (killed without withdrawing).

A small producer of its own is used: the runtime's producer may be transactional, and the
descriptor must not wait for (or vanish with) a transaction.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from agentstream.bus import make_producer
from agentstream.config import KafkaSettings
from agentstream.discovery import publish_descriptor, withdraw_descriptor
from agentstream.events import AgentDescriptor, Subscription
from agentstream.runtime._agent import Agent
from agentstream.runtime._dlq import dlq_topic
from agentstream.runtime._engine import Codec
from agentstream.runtime._warm import warm_codec
from agentstream.serde import Serde

__all__ = ["Announcer", "build_descriptor"]


def build_descriptor(
    agent: Agent, *, instance: str, started_at: datetime | None = None
) -> AgentDescriptor:
    """The published interface of one running instance of ``agent``."""
    return AgentDescriptor(
        name=agent.name,
        version=agent.version,
        consumes=tuple(
            Subscription(topic=t, types=tuple(types))
            for t, types in agent.consumes_by_topic().items()
        ),
        emits=tuple(
            Subscription(topic=t, types=tuple(types)) for t, types in agent.emits_by_topic().items()
        ),
        instance=instance,
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=started_at or datetime.now(UTC),
        description=agent.description or None,
    )


class Announcer:
    """Publishes (blocking until acknowledged) and withdraws one instance's descriptor."""

    def __init__(self, agent: Agent, *, instance: str, kafka: KafkaSettings, serde: Codec) -> None:
        self.agent = agent
        self.instance = instance
        self._kafka = kafka
        self._serde: Serde = serde  # the runtime's Codec has the shape of a Serde
        self._producer = make_producer(kafka.client_config(**{"linger.ms": 0}))
        self.published = False

    def publish(self, *, timeout: timedelta = timedelta(seconds=30)) -> None:
        """Warm the serde for the declared types (``warm_codec``: their schemas registered or
        fetched now, off the event loop), then publish the descriptor (blocking)."""
        warm_codec(self._serde, self.agent,
                   dlq_topic=dlq_topic(self.agent.name, prefix=self._kafka.topic_prefix))
        descriptor = build_descriptor(self.agent, instance=self.instance)
        publish_descriptor(self._producer, self._serde, self._kafka, descriptor, timeout=timeout)
        self.published = True

    def withdraw(self, *, timeout: timedelta = timedelta(seconds=10)) -> None:
        """Tombstone the descriptor (clean shutdown only: a crashed instance stays, as stale)."""
        if not self.published:
            return
        withdraw_descriptor(
            self._producer, self._kafka, self.agent.name, self.instance, timeout=timeout
        )
        self.published = False
