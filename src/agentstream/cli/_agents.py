"""``agentstream agents``: the topology drawn from the agents' published interfaces."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agentstream.discovery import read_topology


def agents(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per agent.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the broker.")] = 20.0,
) -> None:
    """Which agent consumes and emits which event types on which topics, versions, instances."""
    views = read_topology(timeout=timedelta(seconds=timeout))
    if as_json:
        for v in views:
            typer.echo(json.dumps(v.as_dict()))
        return
    if not views:
        typer.echo("no agents have announced themselves yet")
        return
    table = Table(title="AgentStream topology")
    for col in ("agent", "version", "consumes", "emits", "instances"):
        table.add_column(col)

    def fmt(side: dict[str, tuple[str, ...]]) -> str:
        return "\n".join(
            f"{topic}: {', '.join(t.rsplit('.', 1)[-1] for t in types) or '*'}"
            for topic, types in side.items()
        )

    for v in views:
        inst = [f"{i} (live)" for i in v.live_instances] + [
            f"{i} (stale)" for i in v.stale_instances
        ]
        table.add_row(v.name, v.version, fmt(v.consumes), fmt(v.emits), "\n".join(inst))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("agents")(agents)
