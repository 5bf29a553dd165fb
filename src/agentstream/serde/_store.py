"""Writer-schema stores for the registry-free wire format.

``KafkaSchemaStore`` keeps every writer schema in the compacted topic ``_agentstream.schemas``
(key = fingerprint as 16 hex digits, value = schema JSON), so any process can decode what another
wrote without a registry server. ``InMemorySchemaStore`` does the same in one process (tests, the
in-memory bus). Both refuse, at registration, a new version of a record full name that is not
compatible with the registered ones under the store's mode (BACKWARD by default).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from agentstream.bus import (
    TopicNotReadyError,
    ensure_topic,
    make_admin,
    make_consumer,
    make_producer,
)
from agentstream.config import KafkaSettings
from agentstream.errors import SchemaStoreError
from agentstream.schemas import CompatibilityMode, check_compatibility, fingerprint

__all__ = ["SCHEMA_TOPIC", "InMemorySchemaStore", "KafkaSchemaStore", "SchemaStore"]

SCHEMA_TOPIC = "_agentstream.schemas"


class SchemaStore(Protocol):
    """Where writer schemas are registered and looked up by CRC-64-AVRO fingerprint."""

    def register(self, schema: dict[str, Any]) -> int:
        """Store ``schema`` (durably, before returning) and return its fingerprint."""
        ...

    def lookup(self, fp: int) -> dict[str, Any] | None:
        """The schema with fingerprint ``fp``, or None if nobody registered it."""
        ...


def _name(schema: dict[str, Any]) -> str:
    return str(schema.get("name", "")) if isinstance(schema, dict) else str(schema)


class InMemorySchemaStore:
    """A process-local ``SchemaStore`` with the same evolution checks as the Kafka one."""

    def __init__(self, *, compatibility: CompatibilityMode = "BACKWARD") -> None:
        self.compatibility: CompatibilityMode = compatibility
        self._by_fp: dict[int, dict[str, Any]] = {}
        self._versions: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def register(self, schema: dict[str, Any]) -> int:
        fp = fingerprint(schema)
        with self._lock:
            if fp not in self._by_fp:
                name = _name(schema)
                check_compatibility(
                    name, schema, self._versions.get(name, []), mode=self.compatibility
                )
                self._add(fp, schema)
        return fp

    def _add(self, fp: int, schema: dict[str, Any]) -> None:
        if fp not in self._by_fp:
            self._by_fp[fp] = schema
            self._versions.setdefault(_name(schema), []).append(schema)

    def lookup(self, fp: int) -> dict[str, Any] | None:
        return self._by_fp.get(fp)

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Registered versions of a full name, oldest first."""
        return list(self._versions.get(name, []))


class KafkaSchemaStore(InMemorySchemaStore):
    """Writer schemas in a compacted Kafka topic (created on first use if missing).

    ``topic`` defaults to ``<topic_prefix>_agentstream.schemas``; every wait is bounded by
    ``timeout`` (default 15 s; registration and ``refresh``) or ``lookup_timeout`` (default 5 s;
    the re-read of ``lookup`` for an unknown fingerprint) and raises ``SchemaStoreError`` when it
    passes. A lookup of an unknown fingerprint re-reads the topic at most once per
    ``miss_interval`` (default 1 s) so corrupt input cannot hammer the broker. ``lookup`` blocks
    the calling thread for that re-read: agents read the whole topic at start (``refresh``, from
    ``SingleObjectSerde.warm``), and ``decode_off_loop`` runs a miss on a worker thread. Two
    processes registering incompatible versions of one name at the same instant can both succeed
    (no broker-side lock); the CLI/CI check catches it.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        topic: str | None = None,
        compatibility: CompatibilityMode = "BACKWARD",
        timeout: timedelta = timedelta(seconds=15),
        miss_interval: timedelta = timedelta(seconds=1),
        lookup_timeout: timedelta = timedelta(seconds=5),
    ) -> None:
        super().__init__(compatibility=compatibility)
        self.settings = settings
        self.topic = topic or f"{settings.topic_prefix}{SCHEMA_TOPIC}"
        self.timeout = timeout
        self.miss_interval = miss_interval
        self.lookup_timeout = lookup_timeout
        self._ready = False
        self._read_upto = 0  # next offset to read from the schema topic
        self._last_miss: dict[int, float] = {}
        self._io_lock = threading.Lock()

    def _ensure_topic(self, timeout: timedelta) -> None:
        if self._ready:
            return
        admin = make_admin(self.settings.client_config())
        try:
            ensure_topic(
                admin, self.topic, partitions=1, config={"cleanup.policy": "compact"},
                timeout=timeout,
            )  # fmt: skip
        except TopicNotReadyError as exc:
            raise SchemaStoreError(
                f"schema topic {self.topic!r} is not usable: {exc}; check the broker at "
                f"{self.settings.bootstrap_servers} and the principal's CREATE permission"
            ) from exc
        self._ready = True

    def refresh(self, *, timeout: timedelta | None = None) -> None:
        """Read the schema topic from where the last refresh stopped up to its end, within
        ``timeout`` (default: the store's ``timeout``)."""
        timeout = self.timeout if timeout is None else timeout
        self._ensure_topic(timeout)
        deadline = time.monotonic() + timeout.total_seconds()
        consumer = make_consumer(
            self.settings.client_config(
                **{"group.id": "agentstream-schema-store", "enable.auto.commit": False}
            )
        )
        try:
            tp = TopicPartition(self.topic, 0)
            high = self._high_watermark(consumer, tp, deadline, timeout)
            if high <= self._read_upto:
                return
            consumer.assign([TopicPartition(self.topic, 0, self._read_upto)])
            while self._read_upto < high:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SchemaStoreError(
                        f"reading schema topic {self.topic!r} timed out after {timeout} "
                        f"at offset {self._read_upto} of {high}; is the broker healthy?"
                    )
                msg = consumer.poll(min(left, 0.5))
                if msg is None:
                    continue
                if msg.error():
                    continue
                self._read_upto = (msg.offset() or 0) + 1
                value = msg.value()
                if value:
                    schema = json.loads(value)
                    with self._lock:
                        self._add(fingerprint(schema), schema)
        finally:
            consumer.close()

    def _high_watermark(
        self, consumer: Consumer, tp: TopicPartition, deadline: float, timeout: timedelta
    ) -> int:
        # Right after creation the partition may not be in the metadata yet: retry until due.
        while True:
            left = deadline - time.monotonic()
            try:
                _, high = consumer.get_watermark_offsets(tp, timeout=max(min(left, 2.0), 0.1))
                return int(high)
            except KafkaException as exc:
                if left <= 0:
                    raise SchemaStoreError(
                        f"cannot read schema topic {self.topic!r} within {timeout}: {exc}; "
                        f"check the broker at {self.settings.bootstrap_servers}"
                    ) from exc
                time.sleep(0.1)  # back off before asking for fresh metadata

    def register(self, schema: dict[str, Any]) -> int:
        fp = fingerprint(schema)
        if fp in self._by_fp:
            return fp
        with self._io_lock:
            self.refresh()
            with self._lock:
                if fp in self._by_fp:
                    return fp
                name = _name(schema)
                check_compatibility(
                    name, schema, self._versions.get(name, []), mode=self.compatibility
                )
            self._produce(fp, schema)
            with self._lock:
                self._add(fp, schema)
        return fp

    def _produce(self, fp: int, schema: dict[str, Any]) -> None:
        producer = make_producer(
            self.settings.client_config(**{"acks": "all", "enable.idempotence": True})
        )
        errors: list[str] = []

        def on_delivery(err: KafkaError | None, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        producer.produce(
            self.topic,
            key=f"{fp:016x}".encode(),
            value=json.dumps(schema, separators=(",", ":")).encode(),
            on_delivery=on_delivery,
        )
        left = producer.flush(self.timeout.total_seconds())
        if left or errors:
            raise SchemaStoreError(
                f"registering schema {_name(schema)} ({fp:016x}) in {self.topic!r} failed: "
                f"{errors[0] if errors else f'not acknowledged within {self.timeout}'}; "
                "events using it were not produced"
            )

    def lookup(self, fp: int) -> dict[str, Any] | None:
        found = self._by_fp.get(fp)
        if found is not None:
            return found
        now = time.monotonic()
        with self._io_lock:
            if now - self._last_miss.get(fp, -1e9) < self.miss_interval.total_seconds():
                return None
            self.refresh(timeout=self.lookup_timeout)
            found = self._by_fp.get(fp)
            if found is None:
                self._last_miss[fp] = time.monotonic()
            return found
