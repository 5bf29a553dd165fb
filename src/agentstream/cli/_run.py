"""``agentstream run module:attr``: run one agent as this process (SIGTERM/SIGINT stop it)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer

from agentstream.config import check_environment, load
from agentstream.runtime import AgentSettings, DeliveryMode, load_agent, run_agent

__all__ = ["register"]


def run(
    target: Annotated[
        str, typer.Argument(help="The agent: module:attr (or a module with one Agent).")
    ],
    group: Annotated[
        str | None, typer.Option("--group", help="Consumer group (default: agent name).")
    ] = None,
    max_in_flight: Annotated[
        int | None, typer.Option("--max-in-flight", help="Handlers running at once.", min=1)
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="at-least-once (default) or exactly-once."),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Python log level.")] = "INFO",
) -> None:
    """Run one agent; more processes of the same agent share the partitions (consumer group).

    Options override the AGENTSTREAM_AGENT_* environment; Kafka access is AGENTSTREAM_* as usual.
    """
    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The agent's module first: services register their own settings classes on import, so
    # their AGENTSTREAM_* variables are known when the environment is checked.
    agent = load_agent(target)
    check_environment()
    if mode is not None and mode not in ("at-least-once", "exactly-once"):
        raise typer.BadParameter(f"--mode must be at-least-once or exactly-once, not {mode!r}")
    overrides: dict[str, Any] = {}
    if group is not None:
        overrides["group_id"] = group
    if max_in_flight is not None:
        overrides["max_in_flight"] = max_in_flight
    if mode is not None:
        overrides["mode"] = mode
    settings: AgentSettings = load(AgentSettings, **overrides)
    _: DeliveryMode = settings.mode
    run_agent(agent, settings=settings)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
