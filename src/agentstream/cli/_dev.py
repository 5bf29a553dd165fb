"""``agentstream dev``: a local single-node Kafka broker from Apache Kafka's own jars."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from agentstream.localkafka import KAFKA_VERSION, LocalBroker, default_home, ensure_jars

dev = typer.Typer(help="Run a local Apache Kafka broker (KRaft, single node) for development.")

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Broker directory (default: $AGENTSTREAM_HOME/broker or ~/.agentstream/broker).",
    ),
]
PortOpt = Annotated[int, typer.Option("--port", help="Client port; the controller uses port+1.")]


def _broker(home: Path | None, port: int) -> LocalBroker:
    return LocalBroker(home or default_home(), port=port)


@dev.command()
def fetch(version: Annotated[str, typer.Option(help="Kafka version.")] = KAFKA_VERSION) -> None:
    """Download Kafka's jars from Maven Central into the cache (done by `up` when needed)."""
    libs = ensure_jars(version=version)
    size = sum(f.stat().st_size for f in libs.glob("*.jar"))
    typer.echo(f"Kafka {version} jars in {libs} ({size / 1e6:.1f} MB)")


@dev.command()
def up(home: HomeOpt = None, port: PortOpt = 9092) -> None:
    """Start the broker, or report it if it is already running."""
    t0 = time.monotonic()
    st = _broker(home, port).start()
    if st.already_running:
        typer.echo(f"Kafka {st.version} already running: pid {st.pid}, {st.bootstrap_servers}")
    else:
        typer.echo(
            f"Kafka {st.version} (KRaft) started: pid {st.pid}, {st.bootstrap_servers} "
            f"in {time.monotonic() - t0:.1f}s; data in {Path(st.home) / 'data'}"
        )


@dev.command()
def down(home: HomeOpt = None, port: PortOpt = 9092) -> None:
    """Stop the broker gracefully (its data is kept)."""
    if _broker(home, port).stop():
        typer.echo("Kafka stopped")
    else:
        typer.echo("Kafka is not running")


@dev.command()
def status(home: HomeOpt = None, port: PortOpt = 9092) -> None:
    """Report pid, port and version; exit code 3 when the broker is not running."""
    st = _broker(home, port).status()
    if st is None:
        typer.echo("Kafka is not running")
        raise typer.Exit(3)
    up_for = time.time() - st.started_at
    typer.echo(
        f"Kafka {st.version} running: pid {st.pid}, {st.bootstrap_servers} "
        f"(controller {st.controller_port}), up {up_for:.0f}s, home {st.home}"
    )


@dev.command()
def logs(
    home: HomeOpt = None,
    port: PortOpt = 9092,
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many lines.")] = 50,
) -> None:
    """Print the tail of the broker's log."""
    typer.echo(_broker(home, port).logs(lines))


def register(app: typer.Typer) -> None:
    app.add_typer(dev, name="dev")
