"""`make demo`: GitHub activity in, risks out, through a real agent process on a real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.discovery import read_topology
from agentstream.events import BuildFailed, PullRequestOpened
from agentstream.schemas import Record
from agentstream.serde import make_serde
from agentstream.topics import apply, load_catalog
from services.demo.github import scenario, to_events

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).parent / "samples" / "github"
DEADLINE = timedelta(seconds=90)


def _expected_risks(events: list[Record]) -> int:
    n = 0
    for e in events:
        if isinstance(e, BuildFailed):
            n += 1
        elif isinstance(e, PullRequestOpened):
            lines = (e.additions or 0) + (e.deletions or 0)
            n += lines > 400 or (e.changed_files or 0) > 20
    return n


def _load_events() -> list[Record]:
    events: list[Record] = []
    for path in sorted(SAMPLES.glob("*.json")):
        event_name = path.name.split(".", 1)[0]
        events.extend(to_events(event_name, json.loads(path.read_text())))
    events.extend(scenario())
    return events


def _start_agent(settings: KafkaSettings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "AGENTSTREAM_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "agentstream.cli", "run", "services.pr_risk.agent:agent"],
        cwd=ROOT,
        env=env,
    )


def _next_risk(consumer: Consumer, serde: Any, sent: set[str]) -> Any | None:
    """The next risk caused by this run's events (not, e.g., a timer armed by an earlier run)."""
    msg = consumer.poll(0.5)
    if msg is None or msg.error() is not None:
        return None
    risk = serde.decode(
        "insights.risks", msg.value(), partition=msg.partition(), offset=msg.offset()
    )
    # Only pr-risk's answers to this run's events: not a timer armed by an earlier run, nor an
    # insight of some other agent reading the same topic on a shared broker.
    ours = risk.meta.causation_id in sent and risk.meta.source == "agent.pr-risk"
    return risk if ours else None


def main() -> int:
    settings = KafkaSettings()
    print(f"== broker {settings.bootstrap_servers}")
    admin = AdminClient(settings.client_config())
    report = apply(admin, load_catalog(ROOT / "topics.toml", prefix=settings.topic_prefix))
    for line in report.lines():
        print(f"   {line}")

    serde = make_serde(settings)
    events = _load_events()
    sent = {e.meta.id for e in events}
    expected = _expected_risks(events)
    # Read the insights topic from its current end, so earlier demo runs don't count.
    consumer = Consumer(
        settings.client_config(**{"group.id": f"demo-reader-{os.getpid()}-{time.time_ns()}",
                                  "auto.offset.reset": "latest", "enable.auto.commit": False,
                                  "isolation.level": "read_committed"})
    )  # fmt: skip
    consumer.subscribe(["insights.risks"])
    deadline = time.monotonic() + DEADLINE.total_seconds()
    while not consumer.assignment():
        consumer.poll(0.2)
        if time.monotonic() > deadline:
            raise SystemExit("demo: no partition of insights.risks was assigned in time")

    print("== starting services/pr_risk as its own process")
    agent = _start_agent(settings)
    try:
        producer = Producer(settings.client_config(**{"enable.idempotence": True}))
        for e in events:
            producer.produce(
                "events.code", key=e.meta.subject.encode(), value=serde.encode("events.code", e)
            )
        if producer.flush(30):
            raise SystemExit("demo: events were not acknowledged by the broker in 30 s")
        print(
            f"== published {len(events)} semantic events to events.code; expecting {expected} risks"
        )
        got = 0
        while got < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: only {got} of {expected} risks arrived within {DEADLINE}")
            if agent.poll() is not None:
                raise SystemExit(f"demo: the risk agent exited with code {agent.returncode}")
            risk = _next_risk(consumer, serde, sent)
            if risk is None:
                continue
            got += 1
            print(f"   RISK [{risk.severity}] {risk.kind}: {risk.title}")
            print(
                f"        based on {', '.join(risk.based_on)}; caused by {risk.meta.causation_id}"
            )
        print("== topology (agentstream agents)")
        for view in read_topology(settings, timeout=timedelta(seconds=20)):
            print(
                f"   {view.name} {view.version}: consumes {view.consumes}, emits {view.emits}, "
                f"live instances {list(view.live_instances)}"
            )
        print(f"== demo finished: {len(events)} events in, {got} risks out")
        return 0
    finally:
        consumer.close()
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()


if __name__ == "__main__":
    sys.exit(main())
