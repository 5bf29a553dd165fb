"""Reading what the cluster has: topic metadata, configs and watermarks, each with a deadline."""

from __future__ import annotations

import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, TopicPartition

# confluent-kafka re-exports these without __all__; mypy strict wants explicit exports.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    OffsetSpec,
)

from agentstream.errors import TopicProvisionError

__all__ = ["ConfigValue", "PartitionState", "TopicState", "describe_topic", "list_cluster_topics"]

T = TypeVar("T")

# Errors of a partition whose leader the client does not know yet (just created or grown).
_TRANSIENT = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_PARTITION,
    }
)


@dataclass(frozen=True)
class ConfigValue:
    """One topic config as the broker reports it; ``source`` is e.g. ``DYNAMIC_TOPIC_CONFIG``."""

    value: str | None
    source: str
    is_default: bool


@dataclass(frozen=True)
class PartitionState:
    """One partition: leader and replicas (broker ids, -1 = no leader) and its offsets."""

    id: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    low_watermark: int | None = None
    high_watermark: int | None = None


@dataclass(frozen=True)
class TopicState:
    """A topic as the cluster has it."""

    name: str
    partitions: tuple[PartitionState, ...]
    configs: dict[str, ConfigValue] = field(default_factory=dict)

    @property
    def replication_factor(self) -> int:
        return len(self.partitions[0].replicas) if self.partitions else 0


class Deadline:
    """One time budget shared by every call of an operation, so the whole thing ends in time."""

    def __init__(self, timeout: timedelta) -> None:
        self.timeout = timeout
        self._end = time.monotonic() + timeout.total_seconds()

    def left(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return self.left() <= 0

    def result(self, fut: Future[T], what: str) -> T:
        """Wait for ``fut``; raise ``TopicProvisionError`` saying what timed out or failed."""
        try:
            return fut.result(timeout=max(self.left(), 0.001))
        except FutureTimeout:
            raise TopicProvisionError(
                f"{what}: no answer from the broker within {self.timeout}; check that Kafka is "
                "reachable (AGENTSTREAM_BOOTSTRAP_SERVERS) or allow a longer timeout"
            ) from None
        except KafkaException as exc:
            raise TopicProvisionError(f"{what}: the broker refused: {_reason(exc)}") from None


def _reason(exc: KafkaException) -> str:
    err: Any = exc.args[0] if exc.args else None
    return str(err.str()) if err is not None and hasattr(err, "str") else str(exc)


def cluster_metadata(admin: AdminClient, deadline: Deadline) -> Any:
    """The cluster's metadata (brokers, every topic), or ``TopicProvisionError`` at the deadline."""
    try:
        return admin.list_topics(timeout=max(deadline.left(), 0.001))
    except KafkaException as exc:
        raise TopicProvisionError(
            f"cannot read cluster metadata: {_reason(exc)}; check that Kafka is reachable "
            "(AGENTSTREAM_BOOTSTRAP_SERVERS)"
        ) from None


def topic_configs(
    admin: AdminClient, names: list[str], deadline: Deadline
) -> dict[str, dict[str, ConfigValue]]:
    """Every config of each named topic (one describe_configs round trip)."""
    if not names:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    futures = admin.describe_configs(resources, request_timeout=max(deadline.left(), 0.001))
    out: dict[str, dict[str, ConfigValue]] = {}
    for res, fut in futures.items():
        entries = deadline.result(fut, f"describing configs of {res.name}")
        out[res.name] = {
            k: ConfigValue(e.value, getattr(e.source, "name", str(e.source)), bool(e.is_default))
            for k, e in entries.items()
        }
    return out


def list_cluster_topics(
    admin: AdminClient, *, timeout: timedelta = timedelta(seconds=30)
) -> dict[str, int]:
    """User topics on the cluster (internal ``__*`` topics left out) → partition count."""
    md = cluster_metadata(admin, Deadline(timeout))
    return {
        name: len(t.partitions)
        for name, t in md.topics.items()
        if not name.startswith("__") and t.error is None
    }


def describe_topic(
    admin: AdminClient, name: str, *, timeout: timedelta = timedelta(seconds=30)
) -> TopicState | None:
    """Partitions (leaders, replicas, ISR, low/high watermarks) and configs of ``name``.

    ``None`` when the topic does not exist.
    """
    deadline = Deadline(timeout)
    md = cluster_metadata(admin, deadline)
    t = md.topics.get(name)
    if t is None or t.error is not None:
        return None
    tps = [TopicPartition(name, p) for p in sorted(t.partitions)]  # never empty
    low = _offsets(admin, tps, OffsetSpec.earliest(), deadline)  # type: ignore[no-untyped-call]
    high = _offsets(admin, tps, OffsetSpec.latest(), deadline)  # type: ignore[no-untyped-call]
    parts = tuple(
        PartitionState(
            id=p,
            leader=t.partitions[p].leader,
            replicas=tuple(t.partitions[p].replicas),
            isr=tuple(t.partitions[p].isrs),
            low_watermark=low.get(p),
            high_watermark=high.get(p),
        )
        for p in sorted(t.partitions)
    )
    configs = topic_configs(admin, [name], deadline)[name]
    return TopicState(name=name, partitions=parts, configs=configs)


def _offsets(
    admin: AdminClient, tps: list[TopicPartition], spec: OffsetSpec, deadline: Deadline
) -> dict[int, int]:
    """Offsets per partition, retrying retriable errors until the deadline.

    Right after a topic is created or grows, the admin client's metadata may still point at no
    leader (NOT_LEADER_FOR_PARTITION): that heals by itself within moments, so it is retried.
    """
    while True:
        futures = admin.list_offsets(
            {tp: spec for tp in tps}, request_timeout=max(deadline.left(), 0.001)
        )
        try:
            return {
                tp.partition: fut.result(timeout=max(deadline.left(), 0.001)).offset
                for tp, fut in futures.items()
            }
        except KafkaException as exc:
            err: Any = exc.args[0] if exc.args else None
            if err is None or err.code() not in _TRANSIENT or deadline.expired():
                raise TopicProvisionError(
                    f"listing offsets of {tps[0].topic}: {_reason(exc)}"
                ) from None
        except FutureTimeout:
            raise TopicProvisionError(
                f"listing offsets of {tps[0].topic}: no answer within {deadline.timeout}"
            ) from None
        time.sleep(0.2)  # metadata refresh has no event to await
