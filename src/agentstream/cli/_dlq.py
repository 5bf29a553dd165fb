"""``agentstream dlq list|show|replay``: inspect an agent's dead letters and put them back.

Replay writes the original key, value and headers to the original topic (or ``--to``), adding
the header ``agentstream-replay=<dlq partition>:<dlq offset>``: the agent's dedupe then treats the
replay as a new input (so it is handled), and a second replay of the same dead letter as a
duplicate (so it is handled once).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from agentstream.config import KafkaSettings, check_environment, load
from agentstream.errors import AgentStreamError
from agentstream.ops.dlq import (
    DeadLetterEntry,
    read_dead_letters,
    replay_dead_letters,
    select_dead_letters,
)
from agentstream.runtime import dlq_topic
from agentstream.serde import make_serde

__all__ = ["register"]

dlq = typer.Typer(help="Inspect and replay an agent's dead letters (topic dlq.<agent>).")

AgentArg = Annotated[str, typer.Argument(help="Agent name (its dead letters are on dlq.<name>).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the broker.")]


Entry = DeadLetterEntry  # the name tests and older callers use


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
    return select_dead_letters(entries, refs=refs, type_=type_, since=since)


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
    for e in chosen:
        target = to or e.letter.original_topic
        typer.echo(f"{'would replay' if dry_run else 'replay'} {e.ref} -> {target}")
    if not dry_run and chosen:
        replay_dead_letters(kafka, chosen, to=to, timeout=timeout)
    typer.echo(f"{len(chosen)} dead letter(s) {'selected' if dry_run else 'replayed'}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq, name="dlq")
