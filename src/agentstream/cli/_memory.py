"""``agentstream memory``: read and forget agent memory straight from its changelog topics."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from agentstream.config import KafkaSettings, load
from agentstream.memory import decode_value, forget, list_keys, read_key

memory = typer.Typer(help="Agent memory: read a store, forget an entity (right to be forgotten).")

AgentArg = Annotated[str, typer.Argument(help="Agent name.")]
StoreArg = Annotated[str, typer.Argument(help="Store name (topic memory.<agent>.<store>).")]
KeyArg = Annotated[str, typer.Argument(help="Entity key.")]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds the changelog scan may take.", min=0.1)
]


def _settings() -> KafkaSettings:
    settings: KafkaSettings = load(KafkaSettings)
    return settings


@memory.command("get")
def get_cmd(agent: AgentArg, store: StoreArg, key: KeyArg, timeout: TimeoutOpt = 60.0) -> None:
    """Print a key's latest snapshot as JSON; exit code 3 when absent or forgotten."""
    entry = read_key(_settings(), agent, store, key, timeout=timedelta(seconds=timeout))
    if entry is None or entry.value is None:
        typer.echo(f"{key}: not in memory.{agent}.{store}" + (" (forgotten)" if entry else ""))
        raise typer.Exit(3)
    typer.echo(json.dumps(decode_value(entry.value), indent=2, sort_keys=True, default=str))


@memory.command("list")
def list_cmd(
    agent: AgentArg,
    store: StoreArg,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.", min=1)] = 50,
    timeout: TimeoutOpt = 60.0,
) -> None:
    """Print live keys (sorted) with their partition and snapshot."""
    entries = list_keys(
        _settings(), agent, store, limit=limit, timeout=timedelta(seconds=timeout)
    )
    for e in entries:
        value = json.dumps(decode_value(e.value), sort_keys=True, default=str)
        typer.echo(f"{e.key}\t[{e.partition}]\t{value}")
    typer.echo(f"{len(entries)} entities shown", err=True)


VectorsOpt = Annotated[
    list[str] | None,
    typer.Option("--vectors", help="Also delete the key's vectors from this retrieval "
                 "collection (repeatable; AGENTSTREAM_RETRIEVAL_* say where it lives)."),
]


@memory.command("forget")
def forget_cmd(
    agent: AgentArg, store: StoreArg, key: KeyArg, timeout: TimeoutOpt = 60.0,
    vectors: VectorsOpt = None,
) -> None:
    """Write a tombstone for a key: a running owner evicts it at once; gone after compaction
    and from every later restore. ``--vectors C`` removes its vectors from collection C too."""
    for collection in vectors or []:
        from agentstream.retrieval import forget_entity  # noqa: PLC0415 - optional extra

        removed = forget_entity(collection, key)
        typer.echo(f"{key}: {removed} vector(s) deleted from retrieval collection {collection}")
    partitions = forget(_settings(), agent, store, key, timeout=timedelta(seconds=timeout))
    if not partitions:
        typer.echo(f"{key}: not in memory.{agent}.{store}; nothing to forget")
        return
    typer.echo(f"{key}: tombstone written to memory.{agent}.{store} partition(s) {partitions}")


def register(app: typer.Typer) -> None:
    app.add_typer(memory, name="memory")
