"""Questions to team-memory's stores from outside the service, "as of" a time included.

Reads the changelogs through the public SDK (``agentstream.memory.read_key`` / ``list_keys``),
so it works whether or not the service runs::

    python -m services.team_memory.query profile people alice
    python -m services.team_memory.query relations alice --valid-at 2026-11-25T10:00:00+00:00
    python -m services.team_memory.query relations alice --relation reviews \\
        --valid-at 2026-11-25T10:00:00+00:00 --known-at 2026-11-26T08:00:00+00:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from agentstream.config import KafkaSettings
from agentstream.memory import Fact, as_of, list_keys, read_key
from services.team_memory.profiles import RELATIONS, parse_edge_key

__all__ = ["profile", "relations"]

AGENT = "team-memory"


def profile(settings: KafkaSettings, store: str, key: str, *, agent: str = AGENT,
            timeout: timedelta = timedelta(seconds=30)) -> dict[str, Any] | None:
    """The latest profile ``key`` of ``store`` (people, repos, teams), or None."""
    entry = read_key(settings, agent, store, key, timeout=timeout)
    if entry is None or entry.value is None:
        return None
    value = json.loads(entry.value)
    return value if isinstance(value, dict) else None


def relations(
    settings: KafkaSettings,
    entity: str,
    *,
    valid_at: datetime | None = None,
    known_at: datetime | None = None,
    relation: str | None = None,
    agent: str = AGENT,
    timeout: timedelta = timedelta(seconds=30),
) -> list[dict[str, Any]]:
    """The relations from or to ``entity`` that held at ``valid_at`` (default now), as recorded
    by ``known_at`` (default now): ``{relation, from, to, evidence, valid_from, valid_to}``."""
    when = valid_at or datetime.now(UTC)
    out = []
    for entry in list_keys(settings, agent, "graph", timeout=timeout):
        rel, a, b = parse_edge_key(entry.key)
        if entity not in (a, b) or (relation is not None and rel != relation):
            continue
        if entry.value is None:
            continue
        facts = [Fact.from_json(f) for f in json.loads(entry.value)]
        fact = as_of(facts, when, known_at=known_at)
        if fact is None:
            continue
        out.append({**fact.value, "valid_from": fact.valid_from.isoformat(),
                    "valid_to": fact.valid_to.isoformat() if fact.valid_to else None})
    return sorted(out, key=lambda r: (r["relation"], r["from"], r["to"]))


cli = typer.Typer(help="Read team-memory's profiles and team graph (as of a time).")


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    t = datetime.fromisoformat(value)
    if t.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a time zone, e.g. {value}+00:00")
    return t


@cli.command("profile")
def profile_cmd(store: str, key: str, agent: str = AGENT) -> None:
    """Print a profile (store: people, repos or teams) as JSON; exit 3 if there is none."""
    found = profile(KafkaSettings(), store, key, agent=agent)
    if found is None:
        typer.echo(f"no {store} profile {key!r}", err=True)
        raise typer.Exit(3)
    typer.echo(json.dumps(found, indent=2, sort_keys=True))


@cli.command("relations")
def relations_cmd(
    entity: str,
    valid_at: Annotated[str | None, typer.Option(help="ISO time the relations held at.")] = None,
    known_at: Annotated[str | None, typer.Option(help="ISO time of what was known.")] = None,
    relation: Annotated[str | None, typer.Option(help=f"One of {', '.join(RELATIONS)}.")] = None,
    agent: str = AGENT,
) -> None:
    """Print the relations of a person, repository, channel or meeting, one JSON per line."""
    if relation is not None and relation not in RELATIONS:
        raise typer.BadParameter(f"relation must be one of {', '.join(RELATIONS)}")
    for r in relations(KafkaSettings(), entity, valid_at=_time(valid_at),
                       known_at=_time(known_at), relation=relation, agent=agent):
        typer.echo(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    cli()
