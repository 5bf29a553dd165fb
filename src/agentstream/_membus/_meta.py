"""Cluster metadata and group metadata of the in-memory bus, as confluent-kafka's classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    BrokerMetadata,
    ClusterMetadata,
    PartitionMetadata,
    TopicMetadata,
)

from agentstream._membus._broker import Broker

__all__ = ["GroupMeta", "cluster_metadata"]


@dataclass(frozen=True)
class GroupMeta:
    """What ``consumer_group_metadata()`` returns: who sends offsets to a transaction."""

    group_id: str
    member: Any
    generation: int


def cluster_metadata(broker: Broker, topic: str | None = None) -> ClusterMetadata:
    md = ClusterMetadata()
    md.cluster_id = broker.cluster_id  # type: ignore[assignment]
    md.controller_id = 0
    b = BrokerMetadata()
    b.id, b.port = 0, 0
    b.host = broker.name  # type: ignore[assignment]
    md.brokers = {0: b}
    with broker.cond:
        names = [topic] if topic is not None else list(broker.topics)
        for name in names:
            tm = TopicMetadata()
            tm.topic = name  # type: ignore[assignment]
            t = broker.topics.get(name)
            if t is None:
                tm.error = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"unknown topic {name}")
                md.topics[name] = tm
                continue
            for i in range(len(t.partitions)):
                pm = PartitionMetadata()
                pm.id, pm.leader, pm.replicas, pm.isrs = i, 0, [0], [0]
                tm.partitions[i] = pm
            md.topics[name] = tm
    return md
