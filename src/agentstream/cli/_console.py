"""``agentstream console``: the web console (topology, dead letters, tails, team pages)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer

from agentstream.config import check_environment, load

__all__ = ["register"]


def console(
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (default 8700).")] = None,
    ops_url: Annotated[
        list[str] | None,
        typer.Option("--ops-url", help="An agent's ops base URL to scrape (repeatable)."),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Python log level.")] = "INFO",
) -> None:
    """Serve the console. Beyond loopback it needs AGENTSTREAM_CONSOLE_TOKEN (refuses otherwise).

    Settings: AGENTSTREAM_CONSOLE_* (see docs/console.md); Kafka: AGENTSTREAM_BOOTSTRAP_SERVERS.
    """
    # Imported here: the console needs the http extra (starlette, uvicorn), other commands do not.
    from agentstream.console import ConsoleSettings, serve  # noqa: PLC0415

    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    check_environment()
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if ops_url:
        overrides["ops_urls"] = ops_url
    settings = load(ConsoleSettings, **overrides)
    settings.require_safe_binding()
    serve(settings)


def register(app: typer.Typer) -> None:
    app.command("console")(console)
