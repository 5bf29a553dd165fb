"""Helpers for the deploy watcher's tests: run an agent in this process, events, waits.

The real-broker fixtures (``bootstrap_servers``, ``topic_factory``, ``kafka_admin``) come from
AgentStream's pytest plugin, installed with AgentStream: with ``KAFKA_BOOTSTRAP_SERVERS`` set they
use that cluster, otherwise they start a local broker (and fail, never skip, if none starts).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentstream.cli import app
from agentstream.config import KafkaSettings
from agentstream.runtime import Agent, AgentRunner, AgentSettings
from agentstream.schemas import new_meta
from agentstream.testing import WaitTimeoutError
from click.testing import Result
from typer.testing import CliRunner

from deploywatch.events import DeployFinished, DeployOutcome, DeployStarted

PROJECT = Path(__file__).resolve().parents[1]


def agentstream_process(*args: str, cwd: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    """``agentstream ARGS`` as a user types it, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "agentstream.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


def agentstream_cli(*args: str, cwd: Path = PROJECT) -> Result:
    """``agentstream ARGS`` run in this process from ``cwd`` (a second each, not three);
    ``output`` holds stdout and stderr."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(before)


def subject(service: str, environment: str) -> str:
    return f"{service}@{environment}"


def started(service: str, environment: str, version: str, *, by: str = "ci") -> DeployStarted:
    return DeployStarted(
        meta=new_meta(DeployStarted, source="ci.pipeline", subject=subject(service, environment)),
        service=service, environment=environment, version=version, started_by=by,
    )


def finished(
    service: str, environment: str, version: str, outcome: DeployOutcome
) -> DeployFinished:
    return DeployFinished(
        meta=new_meta(DeployFinished, source="ci.pipeline", subject=subject(service, environment)),
        service=service, environment=environment, version=version, outcome=outcome,
        log_url=f"https://ci.example.com/{service}/{version}",
    )


@contextmanager
def running(agent: Agent, bootstrap: str, *, timeout: float = 60) -> Iterator[AgentRunner]:
    """Run ``agent`` on a background thread until the block exits (then stop and join it)."""
    runner = AgentRunner(
        agent,
        settings=AgentSettings(ops_port=None),
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
    )
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(runner.run())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=main, name=f"agent-{agent.name}", daemon=True)
    thread.start()
    try:
        if not runner.wait_ready(timeout):
            raise WaitTimeoutError(f"{agent.name} got no partitions within {timeout}s: {errors}")
        yield runner
    finally:
        runner.stop()
        thread.join(timeout + 30)
        if thread.is_alive():
            raise WaitTimeoutError(f"{agent.name} did not stop within {timeout + 30}s")
    if errors:
        raise errors[0]


def wait_for(predicate: Callable[[], bool], *, timeout: timedelta, what: str) -> None:
    """Poll ``predicate`` until it holds; raise ``WaitTimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout.total_seconds()
    while not predicate():
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"waited {timeout} for {what}")
        time.sleep(0.1)


def now() -> datetime:
    return datetime.now(UTC)
