"""The gateway when its broker stops: 503 with Retry-After within the deadline, nothing written;
once the broker is back the gateway stores again. Uses its own broker (never the shared one)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.connectors import Gateway, GatewaySettings, serve_gateway, sign_github
from agentstream.localkafka import LocalBroker, free_port
from agentstream.serde import make_serde
from agentstream.testing import create_topic

DATA = Path(__file__).resolve().parents[1] / "data"
SECRET = "broker-test-secret"


def _post(url: str, body: bytes, delivery: str) -> httpx.Response:
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign_github(SECRET, body),
        "Content-Type": "application/json",
    }
    return httpx.post(f"{url}/webhooks/github", content=body, headers=headers, timeout=20)


def _deliveries(kafka: KafkaSettings, topic: str) -> list[str | None]:
    serde = make_serde(kafka)
    c = Consumer(kafka.client_config(**{"group.id": f"r-{uuid.uuid4().hex}"}))
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), 20)
        c.assign([TopicPartition(topic, 0, low)])
        found: list[str | None] = []
        deadline = time.monotonic() + 20
        while len(found) < high - low:
            assert time.monotonic() < deadline, "could not read the topic back"
            msg = c.poll(0.2)
            if msg is not None and msg.error() is None:
                found.append(serde.decode(topic, msg.value()).delivery_id)  # type: ignore[attr-defined]
        return found
    finally:
        c.close()


def test_broker_stopped_means_503_and_nothing_written(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path / "broker", port=free_port(), controller_port=free_port())
    broker.start()
    try:
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic_prefix="t.")
        topic = "t.ingest.github"
        create_topic(AdminClient(kafka.client_config()), topic, partitions=1)
        settings = GatewaySettings(
            github_secrets=[SECRET],  # type: ignore[list-item]
            ack_timeout=timedelta(seconds=2),
            retry_after=timedelta(seconds=7),
        )
        body = (DATA / "github" / "pull_request" / "opened.json").read_bytes()
        with serve_gateway(Gateway(settings, kafka)) as url:
            assert _post(url, body, "before-stop").status_code == 200
            broker.stop()
            started = time.monotonic()
            r = _post(url, body, "while-stopped")
            took = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "7"
            assert r.text.startswith("unavailable: ")
            assert took < 2 + 2.5, f"answered after {took:.1f} s; the deadline is 2 s"
            broker.start()
            deadline = time.monotonic() + 60
            while (r := _post(url, body, "after-restart")).status_code != 200:
                assert r.status_code == 503 and time.monotonic() < deadline, r.text
        assert _deliveries(kafka, topic) == ["before-stop", "after-restart"]
    finally:
        broker.stop()
