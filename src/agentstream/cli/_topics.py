"""``agentstream topics``: apply the catalog, list and describe topics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.table import Table

from agentstream.bus import make_admin
from agentstream.config import KafkaSettings, load
from agentstream.topics import Catalog, apply, describe_topic, list_cluster_topics, load_catalog

topics = typer.Typer(help="The topic catalog: provision it idempotently, list and describe topics.")

CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        "-c",
        help="Catalog file (default: ./topics.toml if present, else only the platform topics).",
    ),
]
PrefixOpt = Annotated[
    str | None,
    typer.Option("--prefix", help="Topic name prefix (default: AGENTSTREAM_TOPIC_PREFIX)."),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds the whole command may take.", min=0.1)
]


def _settings() -> KafkaSettings:
    settings: KafkaSettings = load(KafkaSettings)
    return settings


def _admin(settings: KafkaSettings) -> AdminClient:
    return make_admin(settings.client_config())


def _catalog(path: Path | None, prefix: str | None, settings: KafkaSettings) -> Catalog:
    return load_catalog(path, prefix=settings.topic_prefix if prefix is None else prefix)


@topics.command("apply")
def apply_cmd(
    catalog: CatalogOpt = None,
    prefix: PrefixOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Create missing topics, grow partitions and align configs; print the drift fixed.

    Exit code 1 when a change was refused (shrinking partitions, changing the replication factor,
    breaking a co-partition group); everything else is still applied.
    """
    settings = _settings()
    cat = _catalog(catalog, prefix, settings)
    report = apply(
        _admin(settings),
        cat,
        dry_run=dry_run,
        timeout=timedelta(seconds=timeout),
        on_refusal="report",
    )
    for line in report.lines():
        if line.startswith("refused"):
            typer.secho(line, fg=typer.colors.RED, err=True)
        else:
            typer.echo(line)
    if report.refused:
        raise typer.Exit(1)


@topics.command("list")
def list_cmd(
    catalog: CatalogOpt = None,
    prefix: PrefixOpt = None,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Catalog topics and cluster topics side by side (cluster topics outside the prefix hidden)."""
    settings = _settings()
    cat = _catalog(catalog, prefix, settings)
    on_cluster = list_cluster_topics(_admin(settings), timeout=timedelta(seconds=timeout))
    specs = {s.name: s for s in cat.resolved()}
    names = sorted(set(specs) | {n for n in on_cluster if n.startswith(cat.prefix)})
    table = Table(title=f"topics (prefix {cat.prefix!r})" if cat.prefix else "topics")
    # Names are shown without the prefix (it is in the title) so they fit a terminal.
    table.add_column("name", overflow="fold")
    table.add_column("partitions", justify="right")
    for col in ("policy", "in catalog", "on cluster"):
        table.add_column(col)
    for name in names:
        spec = specs.get(name)
        have = on_cluster.get(name)
        want = spec.partitions if spec else None
        parts = str(have if have is not None else want)
        if spec and have is not None and have != want:
            parts = f"{have} (catalog {want})"
        table.add_row(
            name.removeprefix(cat.prefix),
            parts,
            spec.cleanup_policy if spec else "",
            "yes" if spec else "no",
            "yes" if have is not None else "no",
        )
    Console().print(table)


@topics.command("describe")
def describe_cmd(
    name: Annotated[str, typer.Argument(help="Topic name, on the cluster or in the catalog.")],
    prefix: PrefixOpt = None,
    all_configs: Annotated[
        bool, typer.Option("--all-configs", help="Also list configs left at their defaults.")
    ] = False,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Partitions (leader, replicas, ISR, watermarks) and configs of one topic."""
    settings = _settings()
    admin = _admin(settings)
    pfx = settings.topic_prefix if prefix is None else prefix
    # A configured prefix applies to catalog names first; the literal name is the fallback.
    state = None
    if pfx and not name.startswith(pfx):
        state = describe_topic(admin, pfx + name, timeout=timedelta(seconds=timeout))
    if state is None:
        state = describe_topic(admin, name, timeout=timedelta(seconds=timeout))
    if state is None:
        typer.secho(f"topic {name!r} does not exist on the cluster", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    console = Console()
    # A plain line, not a table title: titles wrap at the table's width and split long names.
    typer.echo(
        f"{state.name}: {len(state.partitions)} partitions, "
        f"replication {state.replication_factor}"
    )
    parts = Table()
    for col in ("partition", "leader", "replicas", "isr", "low", "high"):
        parts.add_column(col, justify="right")
    for p in state.partitions:
        parts.add_row(
            str(p.id),
            str(p.leader),
            ",".join(map(str, p.replicas)),
            ",".join(map(str, p.isr)),
            str(p.low_watermark),
            str(p.high_watermark),
        )
    console.print(parts)
    conf = Table(title="configs" if all_configs else "configs (non-default)")
    for col in ("key", "value", "source"):
        conf.add_column(col)
    for key, cv in sorted(state.configs.items()):
        if all_configs or not cv.is_default:
            conf.add_row(key, "" if cv.value is None else cv.value, cv.source)
    console.print(conf)


def register(app: typer.Typer) -> None:
    app.add_typer(topics, name="topics")
