"""Dead letters as data: read an agent's ``dlq.<agent>`` topic and write chosen letters back.

``agentstream dlq`` and the web console share these functions. Replay writes the original key,
value and headers to the original topic (or ``to``), adding the header
``agentstream-replay=<dlq partition>:<dlq offset>``: the agent's dedupe then treats the replay as a
new input (so it is handled), and a second replay of the same dead letter as a duplicate (so it is
handled once).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import KafkaError, TopicPartition

from agentstream.bus import make_consumer, make_producer
from agentstream.config import KafkaSettings
from agentstream.errors import AgentStreamError
from agentstream.runtime import REPLAY_HEADER, dlq_topic
from agentstream.serde import make_serde

__all__ = [
    "DeadLetterEntry",
    "DeadLetterReadError",
    "ReplayError",
    "read_dead_letters",
    "replay_dead_letters",
    "select_dead_letters",
]


class DeadLetterReadError(AgentStreamError):
    """The dead-letter topic could not be read to its end; the message says why."""


class ReplayError(AgentStreamError):
    """A replay was not fully acknowledged; re-run it (the agent handles each dead letter once)."""


@dataclass(frozen=True)
class DeadLetterEntry:
    """One record of ``dlq.<agent>``: where it is and the decoded ``DeadLetter``."""

    partition: int
    offset: int
    letter: Any  # agentstream.events.DeadLetter

    @property
    def ref(self) -> str:
        """``partition:offset``, the name ``dlq show`` / ``dlq replay`` and the console use."""
        return f"{self.partition}:{self.offset}"


def read_dead_letters(
    kafka: KafkaSettings, agent: str, *, timeout: float = 30
) -> list[DeadLetterEntry]:
    """Every dead letter of ``agent``, oldest first per partition (a bounded read to the end)."""
    topic = dlq_topic(agent, prefix=kafka.topic_prefix)
    serde = make_serde(kafka)
    c = make_consumer(
        kafka.client_config(
            **{"group.id": f"agentstream-dlq-read-{time.time_ns()}", "enable.auto.commit": False,
               "enable.partition.eof": True}
        )
    )
    try:
        md = c.list_topics(topic=topic, timeout=timeout).topics.get(topic)
        if md is None or md.error is not None or not md.partitions:
            raise DeadLetterReadError(
                f"no dead-letter topic {topic}: agent {agent!r} never ran or never dead-lettered"
            )
        todo: dict[int, int] = {}
        for p in md.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                todo[p] = high
        c.assign([TopicPartition(topic, p, -2) for p in todo])
        out: list[DeadLetterEntry] = []
        deadline = time.monotonic() + timeout
        while todo:
            if time.monotonic() > deadline:
                raise DeadLetterReadError(f"reading {topic} took longer than {timeout}s")
            for msg in c.consume(num_messages=500, timeout=0.5):
                part, off, err = int(msg.partition() or 0), int(msg.offset() or 0), msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        todo.pop(part, None)
                    continue
                out.append(DeadLetterEntry(
                    part, off, serde.decode(topic, msg.value() or b"", partition=part, offset=off)
                ))
                if off + 1 >= todo.get(part, 0):
                    todo.pop(part, None)
        return sorted(out, key=lambda e: (e.partition, e.offset))
    finally:
        c.close()


def select_dead_letters(
    entries: Sequence[DeadLetterEntry],
    *,
    refs: Sequence[str] = (),
    type_: str | None = None,
    since: datetime | None = None,
) -> list[DeadLetterEntry]:
    """The entries matching every filter given: refs (``p:o`` or offset), event type, newer than."""
    chosen = []
    for e in entries:
        if refs and e.ref not in refs and str(e.offset) not in refs:
            continue
        etype = e.letter.event_type or ""
        if type_ and etype != type_ and not etype.endswith("." + type_):
            continue
        if since and e.letter.last_failure_at < since:
            continue
        chosen.append(e)
    return chosen


def replay_dead_letters(
    kafka: KafkaSettings,
    entries: Sequence[DeadLetterEntry],
    *,
    to: str | None = None,
    timeout: float = 30,
) -> list[tuple[str, str]]:
    """Write ``entries`` back (original bytes and headers + the replay header) and wait for acks.

    Returns ``(ref, topic written to)`` per entry; raises ``ReplayError`` if any write failed.
    """
    records = []
    for e in entries:
        d = e.letter
        headers: list[tuple[str, str | bytes | None]] = [
            (h.key, h.value) for h in d.original_headers if h.key != REPLAY_HEADER
        ]
        headers.append((REPLAY_HEADER, e.ref.encode()))
        records.append((to or d.original_topic, d.original_key, d.original_value, headers))
    if not records:
        return []
    producer = make_producer(kafka.client_config(**{"enable.idempotence": True, "acks": "all"}))
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for topic, key, value, hdrs in records:
        producer.produce(topic, key=key, value=value, headers=hdrs, on_delivery=on_delivery)
    left = producer.flush(timeout)
    if left or failures:
        raise ReplayError(
            f"replay incomplete: {left} unacknowledged, {len(failures)} failed {failures[:3]}; "
            "re-run replay (the agent handles each dead letter once)"
        )
    return [(e.ref, r[0]) for e, r in zip(entries, records, strict=True)]
