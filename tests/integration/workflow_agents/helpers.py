"""Helpers shared by the workflow and timer integration tests (child processes, reads)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from agentstream.testing import WaitTimeoutError, unique_name

AGENTS = Path(__file__).parent


def read_all(bootstrap: str, topic: str, *, timeout: float = 30) -> list[Message]:
    """Every committed message of ``topic`` (read_committed), up to the end, with a deadline."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_name("g"),
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        md = c.list_topics(topic=topic, timeout=10).topics[topic]
        c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
        remaining = set(md.partitions)
        got: list[Message] = []
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"{topic} not read to its end in {timeout}s")
            for m in c.consume(100, timeout=0.5):
                if m.error() is None:
                    got.append(m)
                elif m.error().code() == KafkaError._PARTITION_EOF:
                    remaining.discard(m.partition())
                else:
                    raise AssertionError(m.error())
        return got
    finally:
        c.close()


def spawn(script: str, args: list[str], out: Path) -> subprocess.Popen[bytes]:
    with out.open("ab") as f:
        return subprocess.Popen(
            [sys.executable, str(AGENTS / script), *args], stdout=f, stderr=subprocess.STDOUT
        )


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], out: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        if proc.poll() is not None:
            pytest.fail(f"child exited with {proc.returncode} early:\n{out.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path.name} not written within {timeout}s:\n{out.read_text()}")
        time.sleep(0.05)  # polling a file the child writes; the deadline above bounds it
    return path.read_text()
