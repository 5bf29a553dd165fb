"""``agentstream dlq list|show|replay``: inspect an agent's dead letters and put them back.

Replay writes the original key, value and headers to the original topic (or ``--to``), adding
the header ``agentstream-replay=<dlq partition>:<dlq offset>``: the agent's dedupe then treats the
replay as a new input (so it is handled), and a second replay of the same dead letter as a
duplicate (so it is handled once).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from agentstream.config import KafkaSettings, check_environment, load
from agentstream.errors import AgentStreamError
from agentstream.runtime import REPLAY_HEADER, dlq_topic
from agentstream.serde import make_serde

__all__ = ["register"]

dlq = typer.Typer(help="Inspect and replay an agent's dead letters (topic dlq.<agent>).")

AgentArg = Annotated[str, typer.Argument(help="Agent name (its dead letters are on dlq.<name>).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the broker.")]


class DeadLetterReadError(AgentStreamError):
    """The dead-letter topic could not be read to its end; the message says why."""


@dataclass(frozen=True)
class Entry:
    partition: int
    offset: int
    letter: Any  # agentstream.events.DeadLetter

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"


def read_dead_letters(kafka: KafkaSettings, agent: str, *, timeout: float = 30) -> list[Entry]:
    """Every dead letter of ``agent``, oldest first per partition (a bounded read to the end)."""
    topic = dlq_topic(agent, prefix=kafka.topic_prefix)
    serde = make_serde(kafka)
    c = Consumer(
        kafka.client_config(
            **{"group.id": f"agentstream-dlq-cli-{time.time_ns()}", "enable.auto.commit": False,
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
        out: list[Entry] = []
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
                out.append(Entry(part, off, serde.decode(topic, msg.value() or b"",
                                                         partition=part, offset=off)))
                if off + 1 >= todo.get(part, 0):
                    todo.pop(part, None)
        return sorted(out, key=lambda e: (e.partition, e.offset))
    finally:
        c.close()


def parse_since(text: str) -> datetime:
    """``2h``, ``30m``, ``45s``, ``1d`` (ago) or an ISO 8601 time (UTC if no zone)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: float(m.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--since {text!r}: use e.g. 2h, 30m or 2025-01-31T09:00") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _select(
    entries: list[Entry], *, refs: list[str], type_: str | None, since: datetime | None
) -> list[Entry]:
    chosen = []
    for e in entries:
        if refs and e.ref not in refs and str(e.offset) not in refs:
            continue
        if type_ and (e.letter.event_type or "") not in (type_,) and not (
            e.letter.event_type or ""
        ).endswith("." + type_):
            continue
        if since and e.letter.last_failure_at < since:
            continue
        chosen.append(e)
    return chosen


@dlq.command("list")
def list_(agent: AgentArg, timeout: TimeoutOpt = 30) -> None:
    """One line per dead letter: ref (partition:offset), when, stage, error, original position."""
    check_environment()
    entries = read_dead_letters(load(KafkaSettings), agent, timeout=timeout)
    for e in entries:
        d = e.letter
        typer.echo(
            f"{e.ref}\t{d.last_failure_at:%Y-%m-%dT%H:%M:%SZ}\t{d.stage.value}\t"
            f"{d.error_type}\t{d.event_type or '-'}\t"
            f"{d.original_topic}[{d.original_partition}]@{d.original_offset}\t"
            f"attempts={d.attempts}\t{d.error_message[:80]}"
        )
    typer.echo(f"{len(entries)} dead letter(s) on {dlq_topic(agent)}", err=True)


@dlq.command()
def show(
    agent: AgentArg,
    ref: Annotated[str, typer.Argument(help="partition:offset (or offset) from `dlq list`.")],
    timeout: TimeoutOpt = 30,
) -> None:
    """Everything about one dead letter, as JSON (original value decoded when possible)."""
    check_environment()
    kafka = load(KafkaSettings)
    chosen = _select(read_dead_letters(kafka, agent, timeout=timeout), refs=[ref], type_=None,
                     since=None)
    if not chosen:
        raise AgentStreamError(
            f"no dead letter {ref} for agent {agent}; see `agentstream dlq list`"
        )
    d = chosen[0].letter
    body: dict[str, Any] = {
        "ref": chosen[0].ref,
        **{k: v for k, v in d.to_avro().items() if k not in ("original_value", "original_key")},
        "original_key": d.original_key.decode(errors="replace") if d.original_key else None,
        "original_headers": [
            {"key": h.key, "value": h.value.decode(errors="replace") if h.value else None}
            for h in d.original_headers
        ],
    }
    try:
        record = make_serde(kafka).decode(d.original_topic, d.original_value or b"")
        body["original"] = record.to_avro()
    except AgentStreamError as exc:
        body["original"] = None
        body["original_undecodable"] = str(exc)
        body["original_value_hex"] = (d.original_value or b"")[:256].hex()
    typer.echo(json.dumps(body, indent=2, default=str))


@dlq.command()
def replay(
    agent: AgentArg,
    refs: Annotated[
        list[str] | None, typer.Argument(help="partition:offset refs; none = all (after filters).")
    ] = None,
    *,
    to: Annotated[str | None, typer.Option("--to", help="Topic to write to (default: original).")]
    = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="Only events of this type (full or simple name).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only dead letters newer than this (2h, ISO).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be replayed.")]
    = False,
    timeout: TimeoutOpt = 30,
) -> None:
    """Write dead letters back (original bytes and headers + agentstream-replay header)."""
    check_environment()
    kafka = load(KafkaSettings)
    entries = read_dead_letters(kafka, agent, timeout=timeout)
    chosen = _select(entries, refs=refs or [], type_=type_,
                     since=parse_since(since) if since else None)
    records = []
    for e in chosen:
        d = e.letter
        headers: list[tuple[str, str | bytes | None]] = [
            (h.key, h.value) for h in d.original_headers if h.key != REPLAY_HEADER
        ]
        headers.append((REPLAY_HEADER, e.ref.encode()))
        records.append((to or d.original_topic, d.original_key, d.original_value, headers))
        typer.echo(f"{'would replay' if dry_run else 'replay'} {e.ref} -> {to or d.original_topic}")
    if not dry_run and records:
        _produce(kafka, records, timeout=timeout)
    typer.echo(f"{len(records)} dead letter(s) {'selected' if dry_run else 'replayed'}", err=True)


def _produce(
    kafka: KafkaSettings,
    records: list[tuple[str, bytes | None, bytes | None, list[tuple[str, str | bytes | None]]]],
    *,
    timeout: float,
) -> None:
    producer = Producer(kafka.client_config(**{"enable.idempotence": True, "acks": "all"}))
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for topic, key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
    left = producer.flush(timeout)
    if left or failures:
        raise AgentStreamError(
            f"replay incomplete: {left} unacknowledged, {len(failures)} failed {failures[:3]}; "
            "re-run replay (the agent handles each dead letter once)"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(dlq, name="dlq")
