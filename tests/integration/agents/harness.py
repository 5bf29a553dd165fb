"""Helpers for runtime integration tests: events, an in-process runner, subprocess agents."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, AgentRunner, AgentSettings
from agentstream.schemas import new_meta
from agentstream.serde import Serde, make_serde
from agentstream.testing import WaitTimeoutError, produce

ROOT = Path(__file__).resolve().parents[3]


def pr(subject: str, number: int, *, title: str = "t") -> PullRequestOpened:
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="test", subject=subject),
        repo="octo/repo",
        number=number,
        title=title,
        url=f"https://example.com/{number}",
        author="a",
        base_branch="main",
        head_branch="f",
        created_at=datetime.now(UTC),
    )


def serde_for(bootstrap: str) -> Serde:
    return make_serde(KafkaSettings(bootstrap_servers=bootstrap))


def produce_events(
    bootstrap: str, topic: str, events: list[PullRequestOpened], serde: Serde | None = None
) -> None:
    s = serde or serde_for(bootstrap)
    produce(bootstrap, topic, [(e.meta.subject.encode(), s.encode(topic, e)) for e in events])


@contextmanager
def running(
    agent: Agent, bootstrap: str, *, timeout: float = 60, **settings: Any
) -> Iterator[AgentRunner]:
    """Run ``agent`` in a background thread until the block exits (then stop and join)."""
    settings.setdefault("ops_port", None)
    runner = AgentRunner(
        agent,
        settings=AgentSettings(**settings),
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
    )
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(runner.run())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=main, name=f"agent-{agent.name}", daemon=True)
    t.start()
    try:
        if not runner.wait_ready(timeout):
            raise WaitTimeoutError(
                f"agent {agent.name} got no partitions within {timeout}s: {errors}"
            )
        yield runner
    finally:
        runner.stop()
        t.join(timeout + 30)
        if t.is_alive():
            raise WaitTimeoutError(f"agent {agent.name} did not stop within {timeout + 30}s")
    if errors:
        raise errors[0]


def spawn_agent(
    target: str, bootstrap: str, env: dict[str, str], *, args: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """``agentstream run target`` as a child process (stderr to a file next to the log)."""
    full = {
        k: v for k, v in os.environ.items()
        # The group protocol passes through, so a whole run can be repeated under each one.
        if not k.startswith("AGENTSTREAM_") or k == "AGENTSTREAM_AGENT_GROUP_PROTOCOL"
    } | {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap,
        "AGENTSTREAM_AGENT_OPS_PORT": "-1",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    full.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    log = open(env.get("AGENT_STDERR", os.devnull), "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(
        [sys.executable, "-m", "agentstream.cli", "run", target, *(args or [])],
        cwd=ROOT,
        env=full,
        stdout=log,
        stderr=log,
    )


def committed_to_end(bootstrap: str, group: str, topic: str, partitions: int) -> bool:
    """True once ``group`` has committed every partition of ``topic`` up to its end offset."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = {tp.partition: tp.offset for tp in c.committed(tps, timeout=10)}
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        c.close()
    return all(committed[p] == ends[p] for p in range(partitions))


def wait_for(predicate: Any, *, timeout: timedelta, what: str, poll: float = 0.1) -> None:
    """Poll ``predicate()`` until true; raise ``WaitTimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout.total_seconds()
    while not predicate():
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"waited {timeout} for {what}")
        time.sleep(poll)
