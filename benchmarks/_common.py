"""Shared parts of the peer benchmarks: broker, topics, input data, output verification, printing.

Every contender reads the SAME input topic (same bytes: ``PullRequestOpened`` events in
AgentStream's single-object Avro encoding, written once per scenario) under its own consumer
group and writes its own output topic; the verifier then reads that output and checks that every
input event arrived and that per key the events kept their input order.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import confluent_kafka
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.errors import SchemaStoreError
from agentstream.events import PullRequestOpened
from agentstream.localkafka import KAFKA_VERSION, LocalBroker, free_port
from agentstream.schemas import new_meta
from agentstream.serde import make_serde
from agentstream.testing import create_topic, delete_topics, produce, unique_name

__all__ = [
    "BENCH_DIR",
    "Outcome",
    "Verdict",
    "broker",
    "generate",
    "machine_facts",
    "new_topic",
    "schema_file",
    "verify",
]

BENCH_DIR = Path(__file__).resolve().parent
EVENT_TYPE = PullRequestOpened


@contextmanager
def broker() -> Iterator[tuple[str, str]]:
    """``(bootstrap_servers, description)``: KAFKA_BOOTSTRAP_SERVERS, else a fresh local broker.

    The local broker lives in a temporary directory on free ports and is stopped on exit.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external, f"external broker at {external}"
        return
    with tempfile.TemporaryDirectory(prefix="agentstream-bench-") as tmp:
        port, controller = free_port(), free_port()
        local = LocalBroker(Path(tmp) / "broker", port=port, controller_port=controller)
        local.start()
        try:
            yield local.bootstrap_servers, f"local Apache Kafka {local.version} (KRaft) from jars"
        finally:
            local.stop()


def new_topic(admin: AdminClient, prefix: str, partitions: int) -> str:
    """A fresh uniquely named topic (the harness deletes them at the end)."""
    return create_topic(admin, unique_name(prefix), partitions=partitions,
                        timeout=timedelta(seconds=60))


def drop_topics(admin: AdminClient, names: list[str]) -> None:
    delete_topics(admin, names)


def schema_file(directory: Path) -> Path:
    """The writer schema of the input events as a JSON file, for peers that can't import us."""
    path = directory / f"{EVENT_TYPE.__name__}.avsc"
    path.write_text(json.dumps(EVENT_TYPE.SCHEMA))
    return path


def _event(key_index: int, seq: int) -> PullRequestOpened:
    subject = f"octo/repo-{key_index:04d}"
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="bench.generator", subject=subject),
        repo=subject,
        number=seq,  # per-key sequence: the verifier checks order with it
        title=f"Refactor the scheduler to keep per-key order (part {seq})",
        url=f"https://github.com/{subject}/pull/{seq}",
        author=f"dev-{key_index % 97}",
        base_branch="main",
        head_branch=f"feature/bench-{key_index}-{seq}",
        draft=False,
        body="Moves the commit logic into one place and documents the commit order. " * 2,
        created_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=seq),
        additions=120 + seq % 50,
        deletions=30 + seq % 20,
        changed_files=4,
    )


def generate(bootstrap: str, topic: str, count: int, *, keys: int) -> int:
    """Write ``count`` events round-robin over ``keys`` keys; returns the value size in bytes.

    Encoded once with ``agentstream.serde`` (which also registers the writer schema in
    ``_agentstream.schemas``), so every contender reads exactly the same bytes.
    """
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    try:
        serde.encode(topic, _event(0, 0))
    except SchemaStoreError:
        # First use on a fresh broker creates _agentstream.schemas; its leader may lag a moment.
        time.sleep(2)
        serde.encode(topic, _event(0, 0))
    records: list[tuple[bytes, bytes]] = []
    for i in range(count):
        k = i % keys
        ev = _event(k, i // keys)
        records.append((ev.meta.subject.encode(), serde.encode(topic, ev)))
    produce(bootstrap, topic, records, config={"linger.ms": 20},
            timeout=timedelta(seconds=120))
    return len(records[0][1]) if records else 0


@dataclass
class Verdict:
    """What the output topic holds compared with the input."""

    messages: int
    distinct: int
    missing: int
    duplicates: int
    order_violations: int


def verify(bootstrap: str, topic: str, *, expected: int, keys: int,
           timeout: timedelta = timedelta(seconds=60)) -> Verdict:
    """Read ``topic`` to its end and compare with the ``expected`` events written round-robin.

    An order violation is an event of a key seen after a later event of the same key (the
    ``number`` field carries the per-key sequence). Only events of the first ``expected`` are
    expected; a time-capped run that processed fewer counts as ``missing`` against ``expected``.
    """
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": unique_name("verify"),
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    try:
        md = c.list_topics(topic, timeout=10).topics[topic]
        tps = []
        ends: dict[int, int] = {}
        for p in md.partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > lo:
                ends[p] = hi
                tps.append(TopicPartition(topic, p, lo))
        c.assign(tps)
        last: dict[str, int] = {}
        seen: set[tuple[str, int]] = set()
        messages = violations = 0
        deadline = time.monotonic() + timeout.total_seconds()
        positions = {tp.partition: tp.offset for tp in tps}
        idle_since = time.monotonic()
        while any(positions[p] < ends[p] for p in ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"verifier could not read {topic} to its end in {timeout}")
            batch = c.consume(num_messages=1000, timeout=0.5)
            if batch:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 5:
                break  # only transaction markers (or aborted records) are left
            for m in batch:
                if m.error() is not None:
                    continue
                positions[m.partition()] = m.offset() + 1
                ev = serde.decode(topic, m.value())
                assert isinstance(ev, PullRequestOpened)
                messages += 1
                key = ev.meta.subject
                if ev.number < last.get(key, -1):
                    violations += 1
                last[key] = max(ev.number, last.get(key, -1))
                seen.add((key, ev.number))
            # Transaction markers occupy offsets that no message reports: take the position.
            for tp in c.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= 0:
                    positions[tp.partition] = max(positions[tp.partition], tp.offset)
    finally:
        c.close()
    distinct = len(seen)
    return Verdict(messages=messages, distinct=distinct, missing=max(expected - distinct, 0),
                   duplicates=messages - distinct, order_violations=violations)


@dataclass
class Outcome:
    """One contender's run in one scenario."""

    scenario: str
    contender: str
    mode: str
    events_per_s: float
    processed: int
    seconds: float
    verdict: Verdict | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def run_contender(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None
                  ) -> tuple[dict[str, Any] | None, str]:
    """Run one contender script; return its RESULT JSON (or None) and the tail of its output."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, check=False)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, f"timed out after {timeout:.0f}s\n{out[-2000:]}"
    result = None
    for line in proc.stdout.splitlines():
        if "RESULT {" in line:
            result = json.loads(line[line.index("RESULT {") + len("RESULT "):])
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
    if proc.returncode != 0 and result is None:
        return None, f"exit {proc.returncode}\n{tail}"
    return result, tail


def _version(python: str, module: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({module!r}))"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                             check=False)
    except OSError:
        return "n/a"
    return out.stdout.strip() or "n/a"


def _first(version: Any) -> str:
    # confluent_kafka.version() is a str in recent releases, a (str, int) tuple in older ones.
    return str(version[0] if isinstance(version, tuple) else version)


def machine_facts(quix_python: str | None) -> dict[str, str]:
    """Cores, CPU, OS, Kafka, Python and library versions, for RESULTS.md."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts = {
        "cores": str(os.cpu_count()),
        "cpu": cpu or "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "kafka (local jars)": KAFKA_VERSION,
        "confluent-kafka / librdkafka": f"{_first(confluent_kafka.version())} / "
        f"{_first(confluent_kafka.libversion())}",
        "fastavro": _version(sys.executable, "fastavro"),
        "agentstream": _version(sys.executable, "agentstream"),
        "faust-streaming": _version(sys.executable, "faust-streaming"),
        "aiokafka": _version(sys.executable, "aiokafka"),
    }
    if quix_python:
        facts["quixstreams (own venv)"] = _version(quix_python, "quixstreams")
        facts["confluent-kafka (quix venv)"] = _version(quix_python, "confluent-kafka")
    return facts
