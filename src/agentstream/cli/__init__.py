"""The ``agentstream`` command line.

Each command group lives in its own private module and registers itself on the root app, so the
CLI grows one file per concern.
"""

from __future__ import annotations

import sys

from agentstream._signals import catch_early_stop

if sys.argv[1:2] == ["run"]:
    # Before the heavy imports below: a SIGTERM while the agent starts must stop it cleanly.
    catch_early_stop()

import importlib

import typer

from agentstream.errors import AgentStreamError

__all__ = ["app", "main"]

app = typer.Typer(
    name="agentstream",
    help="AgentStream: agents that talk through Avro-typed semantic events on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Modules that add commands to ``app`` (each defines ``register(app)``).
_COMMAND_MODULES = (
    "agentstream.cli._dev",
    "agentstream.cli._schemas",
    "agentstream.cli._events",
    "agentstream.cli._topics",
    "agentstream.cli._agents",
    "agentstream.cli._run",
    "agentstream.cli._dlq",
    "agentstream.cli._memory",
    "agentstream.cli._workflows",
    "agentstream.cli._console",
    "agentstream.cli._connectors",
    "agentstream.cli._shadow",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point: AgentStream errors print as one clear line, exit code 1."""
    try:
        app()
    except AgentStreamError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise SystemExit(1) from None
