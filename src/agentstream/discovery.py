"""Published interfaces: every running agent announces what it consumes and emits.

Each agent instance writes an ``AgentDescriptor`` to the compacted ``_agentstream.agents`` topic
(key ``<agent>/<instance>``) when it starts and a tombstone when it stops cleanly, so the topic
always holds the topology of the system: which agent reads and writes which event types on
which topics, at which version, with which instances. An instance that died without withdrawing
(SIGKILL, lost node) keeps its descriptor until it is replaced; ``read_topology`` tells such
instances apart by asking the broker which members the agent's consumer group has right now
(the runtime uses the instance id as the Kafka ``client.id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from agentstream.bus import ensure_topic, make_admin, read_compacted
from agentstream.config import KafkaSettings
from agentstream.errors import AgentStreamError
from agentstream.events import AgentDescriptor
from agentstream.serde import Serde, make_serde

__all__ = [
    "AGENTS_TOPIC",
    "AgentView",
    "agents_topic",
    "descriptor_key",
    "ensure_agents_topic",
    "publish_descriptor",
    "read_topology",
    "withdraw_descriptor",
]

AGENTS_TOPIC = "_agentstream.agents"


def agents_topic(settings: KafkaSettings) -> str:
    return f"{settings.topic_prefix}{AGENTS_TOPIC}"


def descriptor_key(name: str, instance: str) -> bytes:
    return f"{name}/{instance}".encode()


def ensure_agents_topic(
    admin: AdminClient, settings: KafkaSettings, *, timeout: float = 30
) -> None:
    """Create the compacted descriptor topic if it does not exist (idempotent)."""
    ensure_topic(
        admin,
        agents_topic(settings),
        config={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"},
        timeout=timedelta(seconds=timeout),
    )


def _deliver(producer: Producer, timeout: timedelta) -> None:
    remaining = producer.flush(timeout.total_seconds())
    if remaining:
        raise AgentStreamError(
            f"the agent descriptor was not acknowledged within {timeout}; is the broker reachable?"
        )


def publish_descriptor(
    producer: Producer,
    serde: Serde,
    settings: KafkaSettings,
    descriptor: AgentDescriptor,
    *,
    timeout: timedelta = timedelta(seconds=30),
) -> None:
    """Announce a running instance and wait until the broker acknowledged it."""
    topic = agents_topic(settings)
    producer.produce(
        topic,
        key=descriptor_key(descriptor.name, descriptor.instance),
        value=serde.encode(topic, descriptor),
    )
    _deliver(producer, timeout)


def withdraw_descriptor(
    producer: Producer,
    settings: KafkaSettings,
    name: str,
    instance: str,
    *,
    timeout: timedelta = timedelta(seconds=10),
) -> None:
    """Remove an instance from the topology (tombstone) on clean shutdown."""
    producer.produce(agents_topic(settings), key=descriptor_key(name, instance), value=None)
    _deliver(producer, timeout)


@dataclass(frozen=True)
class AgentView:
    """One agent in the topology: its newest descriptor and its instances."""

    name: str
    version: str
    consumes: dict[str, tuple[str, ...]]
    emits: dict[str, tuple[str, ...]]
    live_instances: tuple[str, ...]
    stale_instances: tuple[str, ...]
    description: str | None
    live_hosts: tuple[str, ...] = ()  # descriptor hosts of the live instances (ops scraping)
    live_versions: tuple[str, ...] = ()  # several during a rolling upgrade

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "consumes": {k: list(v) for k, v in self.consumes.items()},
            "emits": {k: list(v) for k, v in self.emits.items()},
            "live_instances": list(self.live_instances),
            "stale_instances": list(self.stale_instances),
            "description": self.description,
        }


def _read_descriptors(
    settings: KafkaSettings, serde: Serde, timeout: timedelta
) -> dict[bytes, AgentDescriptor]:
    topic = agents_topic(settings)
    latest: dict[bytes, AgentDescriptor] = {}
    for key, found in read_compacted(settings.client_config(), topic, timeout=timeout).items():
        record = serde.decode(topic, found.value, partition=found.partition, offset=found.offset)
        if isinstance(record, AgentDescriptor):
            latest[key] = record
    return latest


def _group_members(admin: AdminClient, groups: list[str], timeout: float) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {g: set() for g in groups}
    if not groups:
        return members
    for group, fut in admin.describe_consumer_groups(groups, request_timeout=timeout).items():
        try:
            desc = fut.result(timeout=timeout)
        except Exception:
            continue
        members[group] = {m.client_id for m in desc.members}
    return members


def read_topology(
    settings: KafkaSettings | None = None,
    *,
    serde: Serde | None = None,
    group_of: dict[str, str] | None = None,
    timeout: timedelta = timedelta(seconds=20),
) -> list[AgentView]:
    """The agents that announced themselves, with live and stale instances.

    ``group_of`` maps an agent name to its consumer group when they differ (default: the name).
    """
    settings = settings or KafkaSettings()
    serde = serde or make_serde(settings)
    descriptors = _read_descriptors(settings, serde, timeout)
    by_agent: dict[str, list[AgentDescriptor]] = {}
    for d in descriptors.values():
        by_agent.setdefault(d.name, []).append(d)
    group_of = group_of or {}
    admin = make_admin(settings.client_config())
    groups = {name: group_of.get(name, name) for name in by_agent}
    members = _group_members(admin, sorted(set(groups.values())), timeout.total_seconds())
    views = []
    for name, ds in sorted(by_agent.items()):
        newest = max(ds, key=lambda d: d.started_at)
        live = members.get(groups[name], set())
        views.append(
            AgentView(
                name=name,
                version=newest.version,
                consumes={s.topic: tuple(s.types) for s in newest.consumes},
                emits={s.topic: tuple(s.types) for s in newest.emits},
                live_instances=tuple(sorted(d.instance for d in ds if d.instance in live)),
                stale_instances=tuple(sorted(d.instance for d in ds if d.instance not in live)),
                description=newest.description,
                live_hosts=tuple(sorted({d.host for d in ds if d.instance in live})),
                live_versions=tuple(sorted({d.version for d in ds if d.instance in live})),
            )
        )
    return views
