"""``agentstream tail`` and ``agentstream produce``: decoded events in and out as JSON lines."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError
from confluent_kafka import TopicPartition as TP
from fastavro.validation import ValidationError, validate

from agentstream.bus import make_consumer, make_producer
from agentstream.config import KafkaSettings, load
from agentstream.errors import AgentStreamError, DecodeError
from agentstream.schemas import (
    JsonFieldError,
    Record,
    decoding_schema,
    from_json,
    new_meta,
    record_class,
    to_json,
)
from agentstream.serde import make_serde

__all__ = ["produce", "register", "tail"]


class ProduceRejectedError(AgentStreamError):
    """``agentstream produce`` found invalid input lines; nothing of the batch was produced."""


def _start_offsets(consumer: Consumer, topic: str, start: str, timeout: float) -> list[TP]:
    meta = consumer.list_topics(topic, timeout=timeout)
    tmeta = meta.topics.get(topic)
    if tmeta is None or tmeta.error is not None or not tmeta.partitions:
        raise AgentStreamError(f"topic {topic!r} does not exist; check its name and the broker")
    parts = sorted(tmeta.partitions)
    if start == "beginning":
        return [TP(topic, p, OFFSET_BEGINNING) for p in parts]
    if start == "end":
        return [TP(topic, p, OFFSET_END) for p in parts]
    if start.lstrip("-").isdigit():
        return [TP(topic, p, int(start)) for p in parts]
    try:
        when = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"--from {start!r}: use beginning, end, an offset or an ISO-8601 time"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    millis = int(when.timestamp() * 1000)
    return consumer.offsets_for_times([TP(topic, p, millis) for p in parts], timeout=timeout)


def tail(
    topic: Annotated[str, typer.Argument(help="Topic to read.")],
    start: Annotated[
        str, typer.Option("--from", help="beginning | end | OFFSET | ISO-8601 time.")
    ] = "end",
    max_events: Annotated[int | None, typer.Option("--max", help="Stop after N events.")] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop after S seconds without a message.")
    ] = None,
    values_only: Annotated[
        bool, typer.Option("--values-only", help="Print only the event (input for produce).")
    ] = False,
) -> None:
    """Print decoded events as JSON lines (topic, partition, offset, key, type, value).

    Undecodable messages are reported on stderr with the reason and skipped.
    """
    settings: KafkaSettings = load(KafkaSettings)
    serde = make_serde(settings)
    consumer = make_consumer(settings.client_config(**{
        "group.id": f"agentstream-tail-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
    }))
    seen = 0
    try:
        consumer.assign(_start_offsets(consumer, topic, start, timeout or 30.0))
        idle_since = time.monotonic()
        while max_events is None or seen < max_events:
            msg = consumer.poll(0.5)
            if msg is None:
                if timeout is not None and time.monotonic() - idle_since > timeout:
                    break
                continue
            idle_since = time.monotonic()
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    typer.echo(f"error: {err}", err=True)
                continue
            seen += 1
            _print(serde, msg, values_only)
    finally:
        consumer.close()


def _print(serde: Any, msg: Any, values_only: bool) -> None:
    try:
        rec: Record = serde.decode(
            msg.topic(), msg.value() or b"", partition=msg.partition(), offset=msg.offset()
        )
    except DecodeError as exc:
        typer.echo(f"error: {exc}", err=True)
        return
    value = to_json(rec.to_avro(), rec.SCHEMA)
    if values_only:
        typer.echo(json.dumps(value, ensure_ascii=False))
        return
    key = msg.key()
    typer.echo(json.dumps({
        "topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
        "key": key.decode("utf-8", "replace") if key is not None else None,
        "type": rec.FULLNAME, "value": value,
    }, ensure_ascii=False))


def _parse_line(
    cls: type[Record], line: str, number: int, source: str, subject: str | None
) -> Record:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"line {number}: expected a JSON object")
    if cls.SCHEMA["fields"][0]["name"] == "meta":
        given = data.get("meta") or {}
        subj = given.get("subject") or subject
        if not subj:
            raise ValueError(f"line {number}: field meta.subject: missing (or pass --subject)")
        fresh = to_json(new_meta(cls, source=source, subject=subj).to_avro(), cls.SCHEMA)
        data["meta"] = {**fresh, **given, "type": cls.FULLNAME}
        if "id" not in given and "correlation_id" not in given:
            data["meta"]["correlation_id"] = data["meta"]["id"]
    try:
        value = from_json(data, cls.SCHEMA)
    except JsonFieldError as exc:
        raise ValueError(f"line {number}: field {exc}") from exc
    try:
        validate(value, decoding_schema(cls), raise_errors=True)
    except ValidationError as exc:
        raise ValueError(f"line {number}: {'; '.join(str(e) for e in exc.errors)}") from exc
    return cls.from_avro(value)


def produce(
    topic: Annotated[str, typer.Argument(help="Topic to write.")],
    type_name: Annotated[
        str, typer.Option("--type", help="Event type: Avro full name or simple name.")
    ],
    source: Annotated[str, typer.Option(help="meta.source for events without one.")] = "cli",
    subject: Annotated[
        str | None, typer.Option(help="meta.subject for events without one.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for acknowledgements.")] = 30.0,
) -> None:
    """Read JSON lines from stdin, validate ALL of them, then produce them all (acks=all).

    ``meta`` may be omitted or partial; missing parts are filled (new id, now, --source,
    --subject). Timestamps are ISO-8601 strings or epoch milliseconds, bytes are base64. Any
    invalid line is reported with its number and field, and nothing is produced. Key = subject.
    """
    cls = record_class(type_name)
    records: list[Record] = []
    problems: list[str] = []
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            records.append(_parse_line(cls, line, number, source, subject))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ProduceRejectedError(
            f"{len(problems)} invalid line(s), nothing produced: " + " | ".join(problems)
        )
    settings: KafkaSettings = load(KafkaSettings)
    serde = make_serde(settings)
    producer = make_producer(settings.client_config(**{"acks": "all", "enable.idempotence": True}))
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for rec in records:
        key = getattr(getattr(rec, "meta", None), "subject", None)
        producer.produce(
            topic, key=key.encode() if key else None, value=serde.encode(topic, rec),
            on_delivery=on_delivery,
        )
    left = producer.flush(timeout)
    if left or errors:
        raise AgentStreamError(
            f"{left} event(s) unacknowledged after {timeout}s, {len(errors)} failed "
            f"({errors[:1]}); check the broker and the topic"
        )
    typer.echo(f"produced {len(records)} {cls.FULLNAME} event(s) to {topic}")


def register(app: typer.Typer) -> None:
    app.command()(tail)
    app.command()(produce)
