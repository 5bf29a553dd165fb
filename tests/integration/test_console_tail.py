"""The live tail: decoded records as server-sent events; a closed page frees its consumer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import uvicorn
from tests.integration.agents.harness import pr, produce_events, wait_for

from agentstream.config import KafkaSettings
from agentstream.console import ConsoleSettings, create_app
from agentstream.localkafka import free_port


@pytest.fixture
def console_url(bootstrap_servers: str) -> Iterator[str]:
    port = free_port()
    app = create_app(ConsoleSettings(port=port, evidence_topics=[]),
                     kafka=KafkaSettings(bootstrap_servers=bootstrap_servers))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    wait_for(lambda: server.started, timeout=timedelta(seconds=30), what="console started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(30)


def _tails() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("console-tail-")]


def test_tail_streams_new_records_and_frees_its_consumer(
    bootstrap_servers: str, topic_factory, console_url: str
) -> None:
    topic = topic_factory(partitions=2)
    events = [pr(f"octo/repo#{i}", i, title=f"tail-{i}") for i in range(5)]
    got: list[dict] = []
    with (httpx.Client(timeout=30) as client,
          client.stream("GET", f"{console_url}/topics/{topic}/stream") as resp):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.iter_lines()
        assert next(lines) == ": connected"
        assert len(_tails()) == 1
        produce_events(bootstrap_servers, topic, events)  # after connecting: from the end
        deadline = time.monotonic() + 30
        while len(got) < len(events) and time.monotonic() < deadline:
            line = next(lines)
            if line.startswith("data: "):
                got.append(json.loads(line[6:]))
    assert sorted(g["value"]["title"] for g in got) == sorted(e.title for e in events)
    assert {g["id"] for g in got} == {e.meta.id for e in events}
    assert all(g["type"] == "agentstream.events.code.PullRequestOpened" for g in got)
    # The browser went away: within a poll or an idle beat the consumer thread is gone.
    wait_for(lambda: not _tails(), timeout=timedelta(seconds=20), what="tail thread exit")


def test_tail_of_a_missing_topic_is_a_404(console_url: str) -> None:
    r = httpx.get(f"{console_url}/topics/no-such-topic-here/stream", timeout=30)
    assert r.status_code == 404 and "does not exist" in r.json()["error"]
    wait_for(lambda: not _tails(), timeout=timedelta(seconds=10), what="tail thread exit")
