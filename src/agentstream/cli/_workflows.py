"""``agentstream workflows runs NAME`` and ``agentstream timers list``: inspect durable state.

Both read a compacted topic to its end (with a deadline) and print the latest record per key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from agentstream.config import KafkaSettings, load
from agentstream.workflow import RunCheckpoint, read_runs, read_timers

workflows = typer.Typer(help="Durable workflows: list runs and their step states.")
timers = typer.Typer(help="Durable timers and schedules.")

TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds the read may take.", min=0.1)
]
StatusOpt = Annotated[
    Literal["running", "succeeded", "failed"] | None,
    typer.Option("--status", help="Only runs with this status."),
]


def _settings() -> KafkaSettings:
    settings: KafkaSettings = load(KafkaSettings)
    return settings


def _when(dt: datetime | None) -> str:
    return "" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _steps(run: RunCheckpoint) -> str:
    parts = []
    for name, st in run.steps.items():
        mark = {"succeeded": "✓", "failed": "✗", "pending": "·"}[st.status]
        extra = f" x{st.attempts}" if st.attempts > 1 else ""
        parts.append(f"{mark} {name}{extra}")
    return "  ".join(parts)


@workflows.command("runs")
def runs_cmd(
    name: Annotated[str, typer.Argument(help="Workflow name (topic workflows.NAME.runs).")],
    status: StatusOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON checkpoint per line.")] = False,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """List the runs of workflow NAME with each step's state (✓ done, ✗ failed, · not yet)."""
    runs = read_runs(name, _settings(), timeout=timedelta(seconds=timeout))
    if status is not None:
        runs = [r for r in runs if r.status == status]
    if as_json:
        for r in runs:
            typer.echo(json.dumps(json.loads(r.to_bytes())))
        return
    if not runs:
        typer.echo(f"no runs of workflow {name!r}" + (f" with status {status}" if status else ""))
        return
    # One line per run (plus its error), not a table: step lists are long and ids must stay
    # whole and greppable at any terminal width.
    typer.echo(f"workflow {name}: {len(runs)} run(s)")
    for r in runs:
        typer.echo(f"{r.run_id}  {r.status:<9}  updated {_when(r.updated_at)}  {_steps(r)}")
        if r.error:
            typer.echo(f"    error: {r.error}")


@timers.command("list")
def timers_list_cmd(
    service: Annotated[
        str | None, typer.Option("--service", help="Only timers of this service.")
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="An agent's timers (topic workflows.<agent>.timers)."),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option("--topic", help="The timers topic (default workflows.timers, the "
                     "standalone TimerService's; with --agent that agent's)."),
    ] = None,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """List pending timers and schedules, soonest first."""
    if topic is None:
        topic = f"workflows.{agent}.timers" if agent else "workflows.timers"
    pending = read_timers(_settings(), topic=topic, timeout=timedelta(seconds=timeout))
    if service is not None:
        pending = [t for t in pending if t.service == service]
    if not pending:
        typer.echo("no pending timers")
        return
    table = Table(title=f"{len(pending)} pending timer(s)")
    table.add_column("service")
    table.add_column("timer id", no_wrap=True, min_width=36)  # ids must stay copy-pasteable
    for col in ("due (UTC)", "schedule", "deliver to", "payload bytes"):
        table.add_column(col)
    for t in pending:
        schedule = f"{t.cron} {t.tz}" if t.cron else "once"
        table.add_row(
            t.service, t.timer_id, _when(t.due), schedule, t.topic or "", str(len(t.payload))
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(workflows, name="workflows")
    app.add_typer(timers, name="timers")
