"""``MemoryAdmin``: the part of confluent-kafka's ``AdminClient`` the platform uses, in memory.

Results come as already-resolved ``concurrent.futures.Future`` objects, keyed as confluent-kafka
keys them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    ConfigEntry,
    ConfigSource,
    ListOffsetsResultInfo,
)

from agentstream._membus._broker import broker_for
from agentstream._membus._meta import cluster_metadata

__all__ = ["MemoryAdmin"]


def _done(result: Any = None, error: BaseException | None = None) -> Future[Any]:
    fut: Future[Any] = Future()
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
    return fut


class MemoryAdmin:
    def __init__(self, config: dict[str, Any]) -> None:
        self._broker = broker_for(config)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return cluster_metadata(self._broker, topic)

    def create_topics(self, new_topics: Sequence[Any], **_: Any) -> dict[str, Future[Any]]:
        out = {}
        for nt in new_topics:
            partitions = nt.num_partitions if nt.num_partitions and nt.num_partitions > 0 else 1
            created = self._broker.create_topic(nt.topic, partitions, dict(nt.config or {}))
            out[nt.topic] = _done() if created else _done(error=KafkaException(KafkaError(
                KafkaError.TOPIC_ALREADY_EXISTS, f"Topic '{nt.topic}' already exists.")))
        return out

    def delete_topics(self, topics: Sequence[str], **_: Any) -> dict[str, Future[Any]]:
        out = {}
        for name in topics:
            out[name] = _done() if self._broker.delete_topic(name) else _done(
                error=KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART,
                                                f"unknown topic {name}")))
        return out

    def create_partitions(self, new_partitions: Sequence[Any], **_: Any) -> dict[str, Future[Any]]:
        out = {}
        for np in new_partitions:
            try:
                self._broker.add_partitions(np.topic, int(np.new_total_count))
                out[np.topic] = _done()
            except (KeyError, ValueError) as exc:
                out[np.topic] = _done(error=KafkaException(KafkaError(
                    KafkaError.INVALID_PARTITIONS, str(exc))))
        return out

    def list_offsets(
        self, topic_partition_offsets: dict[TopicPartition, Any], **_: Any
    ) -> dict[TopicPartition, Future[Any]]:
        out: dict[TopicPartition, Future[Any]] = {}
        with self._broker.cond:
            for tp, spec in topic_partition_offsets.items():
                t = self._broker.topics.get(tp.topic)
                if t is None or tp.partition >= len(t.partitions):
                    out[tp] = _done(error=KafkaException(KafkaError(
                        KafkaError.UNKNOWN_TOPIC_OR_PART, f"unknown {tp.topic}[{tp.partition}]")))
                    continue
                part = t.partitions[tp.partition]
                offset = 0 if type(spec).__name__ == "EarliestSpec" else part.high
                out[tp] = _done(ListOffsetsResultInfo(offset, -1, -1))
        return out

    def describe_configs(self, resources: Sequence[Any], **_: Any) -> dict[Any, Future[Any]]:
        """Topic configs: the ones set at creation or altered (dynamic), and the defaults the
        platform reads (``cleanup.policy``, ``retention.ms``)."""
        out: dict[Any, Future[Any]] = {}
        with self._broker.cond:
            for res in resources:
                t = self._broker.topics.get(res.name)
                if t is None:
                    out[res] = _done(error=KafkaException(KafkaError(
                        KafkaError.UNKNOWN_TOPIC_OR_PART, f"unknown topic {res.name}")))
                    continue
                entries = {k: ConfigEntry(k, v, source=ConfigSource.DEFAULT_CONFIG,
                                          is_default=True) for k, v in _DEFAULTS.items()}
                entries.update({k: ConfigEntry(k, v, source=ConfigSource.DYNAMIC_TOPIC_CONFIG)
                                for k, v in t.config.items()})
                out[res] = _done(entries)
        return out

    def incremental_alter_configs(
        self, resources: Sequence[Any], **_: Any
    ) -> dict[Any, Future[Any]]:
        out: dict[Any, Future[Any]] = {}
        with self._broker.cond:
            for res in resources:
                t = self._broker.topics.get(res.name)
                if t is None:
                    out[res] = _done(error=KafkaException(KafkaError(
                        KafkaError.UNKNOWN_TOPIC_OR_PART, f"unknown topic {res.name}")))
                    continue
                for entry in res.incremental_configs:
                    if getattr(entry.incremental_operation, "name", "") == "DELETE":
                        t.config.pop(entry.name, None)
                    else:
                        t.config[entry.name] = str(entry.value)
                out[res] = _done()
        return out


_DEFAULTS = {"cleanup.policy": "delete", "retention.ms": "604800000",
             "min.compaction.lag.ms": "0", "segment.ms": "604800000"}
