"""``EventIndex``: the console's view of insights and evidence, followed from Kafka.

One background thread reads the insight topics (briefings, risks, activity) and the evidence
topics from their beginning and keeps following them: every decoded event that has a ``meta``
envelope is indexed by ``meta.id`` (bounded, newest kept), so that an insight's ``based_on`` ids
resolve to the events they cite; insights are also kept in lists for the team pages. Topics that do
not exist yet are picked up when they appear (metadata is re-read every few seconds).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from agentstream.bus import make_consumer
from agentstream.config import KafkaSettings
from agentstream.errors import AgentStreamError
from agentstream.schemas import to_json
from agentstream.serde import Serde, make_serde

__all__ = ["EventIndex", "IndexedEvent"]

log = logging.getLogger("agentstream.console")

_METADATA_EVERY = 3.0


@dataclass(frozen=True)
class IndexedEvent:
    """One decoded event and where it was read."""

    topic: str
    partition: int
    offset: int
    key: str | None
    type: str
    value: dict[str, Any]  # JSON form (agentstream.schemas.to_json)

    @property
    def id(self) -> str:
        return str(self.value.get("meta", {}).get("id", ""))

    @property
    def time(self) -> str:
        return str(self.value.get("meta", {}).get("time", ""))

    @property
    def subject(self) -> str:
        return str(self.value.get("meta", {}).get("subject", ""))


def decode_message(serde: Serde, msg: Message) -> IndexedEvent:
    """Decode one Kafka message into an ``IndexedEvent`` (raises ``DecodeError``)."""
    topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
    rec = serde.decode(topic, msg.value() or b"", partition=partition, offset=offset)
    key = msg.key()
    return IndexedEvent(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key.decode("utf-8", "replace") if key is not None else None,
        type=rec.FULLNAME,
        value=to_json(rec.to_avro(), rec.SCHEMA),
    )


class EventIndex:
    """Follows ``insight_topics`` + ``evidence_topics``; thread-safe readers below."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        insight_topics: dict[str, str],
        evidence_topics: list[str],
        limit: int = 200_000,
        serde: Serde | None = None,
    ) -> None:
        self._kafka = kafka
        self._serde = serde or make_serde(kafka)
        self._kinds = dict(insight_topics)  # topic -> "briefings" | "risks" | "activity"
        self._topics = sorted({*insight_topics, *evidence_topics})
        self._limit = limit
        self._lock = threading.Lock()
        self._by_id: OrderedDict[str, IndexedEvent] = OrderedDict()
        self._insights: dict[str, list[IndexedEvent]] = {k: [] for k in self._kinds.values()}
        self._assigned: set[tuple[str, int]] = set()
        self._catching_up: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.indexed = 0

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> EventIndex:
        self._thread = threading.Thread(target=self._run, name="console-index", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    # -- readers ----------------------------------------------------------------------------------
    def find(self, event_id: str) -> IndexedEvent | None:
        with self._lock:
            return self._by_id.get(event_id)

    def insights(self, kind: str) -> list[IndexedEvent]:
        """``kind`` = briefings | risks | activity, newest first."""
        with self._lock:
            items = list(self._insights.get(kind, ()))
        return sorted(items, key=lambda e: e.time, reverse=True)

    def caught_up(self) -> bool:
        """True once every partition seen so far was read to the end it had when first seen."""
        with self._lock:
            return bool(self._assigned) and not self._catching_up

    def size(self) -> int:
        with self._lock:
            return len(self._by_id)

    # -- the follower thread ----------------------------------------------------------------------
    def _run(self) -> None:
        consumer = make_consumer(
            self._kafka.client_config(
                **{
                    "group.id": f"agentstream-console-{uuid.uuid4().hex[:12]}",
                    "enable.auto.commit": False,
                    "enable.partition.eof": True,
                    "isolation.level": "read_committed",
                }
            )
        )
        next_metadata = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_metadata:
                    try:
                        self._assign_new(consumer)
                    except Exception as exc:  # broker away: keep what we have, retry later
                        log.warning("console index: metadata failed: %s", exc)
                    next_metadata = time.monotonic() + _METADATA_EVERY
                if not self._assigned:
                    self._stop.wait(0.5)
                    continue
                for msg in consumer.consume(num_messages=500, timeout=0.5):
                    self._handle(msg)
        finally:
            consumer.close()

    def _assign_new(self, consumer: Consumer) -> None:
        md = consumer.list_topics(timeout=5)
        new: list[TopicPartition] = []
        for topic in self._topics:
            tmd = md.topics.get(topic)
            if tmd is None or tmd.error is not None:
                continue
            for p in tmd.partitions:
                if (topic, p) in self._assigned:
                    continue
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
                new.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                with self._lock:
                    self._assigned.add((topic, p))
                    if high > 0:
                        self._catching_up[(topic, p)] = high
        if new:
            consumer.incremental_assign(new)

    def _handle(self, msg: Message) -> None:
        err = msg.error()
        tp = (msg.topic() or "", msg.partition() or 0)
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                with self._lock:
                    self._catching_up.pop(tp, None)
            else:
                log.warning("console index: %s", err)
            return
        with self._lock:
            end = self._catching_up.get(tp)
            if end is not None and (msg.offset() or 0) + 1 >= end:
                self._catching_up.pop(tp, None)
        if msg.value() is None:
            return
        try:
            event = decode_message(self._serde, msg)
        except AgentStreamError as exc:
            self.errors += 1
            log.debug("console index: undecodable %s[%d]@%s: %s", *tp, msg.offset(), exc)
            return
        self._add(event)

    def _add(self, event: IndexedEvent) -> None:
        with self._lock:
            self.indexed += 1
            if event.id:
                self._by_id[event.id] = event
                self._by_id.move_to_end(event.id)
                while len(self._by_id) > self._limit:
                    self._by_id.popitem(last=False)
            kind = self._kinds.get(event.topic)
            if kind is not None:
                items = self._insights[kind]
                items.append(event)
                if len(items) > self._limit // 10:
                    del items[: len(items) - self._limit // 10]
