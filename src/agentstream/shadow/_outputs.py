"""Reading the outputs of either side of a shadow run as ``Output`` values.

An output belongs to the comparison when it was caused by an input of the window
(``meta.causation_id`` in the window's event ids) and, on production topics that other agents
write too, when its ``meta.source`` is the agent's. Timers an input scheduled that had not fired
yet are read from the side's timers topic as *pending* outputs; timers cancelled on a side are
returned by id, so a timer still pending on the other side is not reported as a difference
(whether it fires depends on inputs after the window).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from confluent_kafka import TopicPartition

from agentstream.bus import read_compacted, watermarks
from agentstream.config import KafkaSettings
from agentstream.schemas import to_json
from agentstream.serde import Serde
from agentstream.shadow._diff import Output
from agentstream.shadow._window import Window, read_range, reader
from agentstream.workflow import Timer

__all__ = ["SideOutputs", "read_outputs", "read_timer_outputs", "to_output"]

log = logging.getLogger("agentstream.shadow")

def timers_topic(agent: str) -> str:
    """An agent's timers topic (co-partitioned with its inputs), without the topic prefix."""
    return f"workflows.{agent}.timers"


def to_output(record: Any, *, topic: str, partition: int, offset: int,
              pending: bool = False) -> Output | None:  # fmt: skip
    """``record`` as an ``Output`` (None for a record without ``meta``)."""
    meta = getattr(record, "meta", None)
    if meta is None:
        return None
    return Output(
        event_type=str(getattr(type(record), "FULLNAME", meta.type)),
        event_id=str(meta.id),
        causation_id=None if meta.causation_id is None else str(meta.causation_id),
        topic=topic, partition=partition, offset=offset,
        fields=to_json(record.to_avro(), type(record).SCHEMA),
        pending=pending,
    )


@dataclass
class SideOutputs:
    """What one side emitted for the window, and what could not be read."""

    outputs: list[Output] = field(default_factory=list)
    undecodable: int = 0
    sources: set[str] = field(default_factory=set)


def _since(config: dict[str, Any], topics: Collection[str], since_ms: int | None,
           timeout: timedelta) -> Window:  # fmt: skip
    c = reader(config)
    try:
        starts: dict[tuple[str, int], int] = {}
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            md = c.list_topics(topic=topic, timeout=timeout.total_seconds()).topics.get(topic)
            if md is None or md.error is not None:
                continue
            for p in md.partitions:
                low, high = watermarks(c, TopicPartition(topic, p), timeout=timeout)
                starts[(topic, p)], ends[(topic, p)] = low, high
        if since_ms is not None and starts:
            found = c.offsets_for_times(
                [TopicPartition(t, p, since_ms) for t, p in starts], timeout=timeout.total_seconds()
            )
            for tp in found:
                key = (tp.topic, tp.partition)
                starts[key] = ends[key] if tp.offset < 0 else max(starts[key], tp.offset)
    finally:
        c.close()
    return Window(starts, ends)


def read_outputs(
    config: dict[str, Any],
    topics: Mapping[str, str],
    codec: Serde,
    *,
    causes: Collection[str],
    sources: Collection[str] | None = None,
    since_ms: int | None = None,
    timeout: timedelta = timedelta(minutes=2),
) -> SideOutputs:
    """Outputs on ``topics`` (topic read → topic reported) caused by an input in ``causes``,
    from the records written at ``since_ms`` or later to the current end; with ``sources``,
    only outputs whose ``meta.source`` is one of them."""
    side = SideOutputs()
    window = _since(config, list(topics), since_ms, timeout)
    for msg in read_range(config, window, timeout=timeout):
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        try:
            record = codec.decode(topic, msg.value(), partition=partition, offset=offset)
        except Exception as exc:
            side.undecodable += 1
            log.debug("skipping %s[%d]@%d: %s", topic, partition, offset, exc)
            continue
        out = to_output(record, topic=topics[topic], partition=partition, offset=offset)
        if out is None or out.causation_id not in causes:
            continue
        source = str(out.fields.get("meta", {}).get("source", ""))
        if sources is not None and source not in sources:
            continue
        side.sources.add(source)
        side.outputs.append(out)
    return side


def read_timer_outputs(
    kafka: KafkaSettings,
    service: str,
    codec: Serde,
    *,
    causes: Collection[str],
    report_topic: Mapping[str, str] | None = None,
    timeout: timedelta = timedelta(minutes=1),
) -> tuple[list[Output], set[str]]:
    """The pending timers of ``service`` scheduled by an input in ``causes``, as outputs, and
    the ids of its cancelled timers."""
    stored = read_compacted(kafka.client_config(), kafka.topic_prefix + timers_topic(service),
                            timeout=timeout)  # fmt: skip
    pending: list[Output] = []
    cancelled: set[str] = set()
    for value in stored.values():
        try:
            doc = json.loads(value.value)
        except ValueError:
            continue
        if not isinstance(doc, dict) or doc.get("service") != service:
            continue
        if doc.get("done") == "cancelled":
            cancelled.add(str(doc.get("timer_id")))
            continue
        if "done" in doc:
            continue
        try:
            timer = Timer.from_bytes(value.value)
        except (ValueError, KeyError):
            continue
        if timer.topic is None or timer.cron is not None:
            continue
        try:
            record = codec.decode(timer.topic, timer.payload)
        except Exception:
            continue
        topic = (report_topic or {}).get(timer.topic, timer.topic)
        out = to_output(record, topic=topic, partition=-1, offset=-1, pending=True)
        if out is not None and out.causation_id in causes:
            pending.append(out)
    return pending, cancelled
