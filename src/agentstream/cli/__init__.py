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



def _unavailable(module: str, missing: str) -> None:
    """Stand in for a command group whose optional dependency is not installed, so that the
    other commands work on a base install and this one says what to install."""
    command = module.rpartition("._")[2]

    @app.command(
        command,
        help=f"(unavailable here: needs the Python package {missing!r})",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def stub() -> None:
        raise AgentStreamError(
            f"`agentstream {command}` needs the Python package {missing!r}, which this "
            "installation lacks; install the agentstream extra that provides it "
            "(pip install 'agentstream[dev]' installs them all)"
        )


for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name is None or _exc.name.partition(".")[0] == "agentstream":
            raise
        _unavailable(_name, _exc.name)
        continue
    _module.register(app)


def main() -> None:
    """Console-script entry point: AgentStream errors print as one clear line, exit code 1."""
    try:
        app()
    except AgentStreamError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise SystemExit(1) from None
