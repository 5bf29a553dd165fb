"""The normalizer service end to end: signed webhooks through the gateway, the agent on the real
broker, semantic events out; redelivery gives one set of ids; malformed records dead-lettered;
the importers write the same raw records again on a re-run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import REGISTRY
from services.normalizer.agent import make_agent
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.config import KafkaSettings
from agentstream.connectors import Gateway, GatewaySettings, make_raw, serve_gateway, sign_github
from agentstream.runtime import Agent, AgentRunner, AgentSettings
from agentstream.serde import make_serde
from agentstream.testing import create_topic, delete_topics, unique_name

DATA = Path(__file__).resolve().parents[1] / "data"
SECRET = "normalizer-test-secret"
SOURCES = ("ingest.github", "ingest.slack", "ingest.calendar")
OUTPUTS = ("events.code", "events.chat", "events.calendar")


def _topics(admin: AdminClient, prefix: str) -> list[str]:
    names = [prefix + t for t in (*SOURCES, *OUTPUTS)]
    for name in names:
        create_topic(admin, name, partitions=3)
    return names


def _read(kafka: KafkaSettings, topic: str, *, at_least: int, timeout: float = 60) -> list:
    """Decoded (key, record) of ``topic`` once it holds at least ``at_least`` records."""
    serde = make_serde(kafka)
    c = Consumer(
        kafka.client_config(
            **{"group.id": unique_name("read"), "isolation.level": "read_committed"}
        )
    )
    got: list = []
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(3)])
        deadline = time.monotonic() + timeout
        while len(got) < at_least:
            assert time.monotonic() < deadline, f"{topic}: {len(got)} of {at_least} records"
            msg = c.poll(0.2)
            if msg is not None and msg.error() is None:
                got.append((msg.key().decode(), serde.decode(topic, msg.value())))
        # Anything more that is already there (a duplicate would show up here).
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            msg = c.poll(0.1)
            if msg is not None and msg.error() is None:
                got.append((msg.key().decode(), serde.decode(topic, msg.value())))
        return got
    finally:
        c.close()


@contextmanager
def _running(agent: Agent, kafka: KafkaSettings) -> Iterator[AgentRunner]:
    runner = AgentRunner(agent, settings=AgentSettings(ops_port=None), kafka=kafka)
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(runner.run())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=main, daemon=True)
    t.start()
    try:
        assert runner.wait_ready(60), f"normalizer got no partitions: {errors}"
        yield runner
    finally:
        runner.stop()
        t.join(60)
        assert not errors, errors


def _deliver(url: str, path: Path, event: str, delivery: str) -> httpx.Response:
    body = path.read_bytes()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign_github(SECRET, body),
        "Content-Type": "application/json",
    }
    return httpx.post(f"{url}/webhooks/github", content=body, headers=headers, timeout=20)


def test_redelivered_webhooks_give_one_set_of_event_ids(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    prefix = unique_name("norm") + "."
    names = _topics(kafka_admin, prefix)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix)
    settings = GatewaySettings(github_secrets=[SECRET])  # type: ignore[list-item]
    deliveries = [
        (DATA / "github" / "pull_request" / "opened.json", "pull_request"),
        (DATA / "github" / "pull_request" / "review_requested.json", "pull_request"),
        (DATA / "github" / "workflow_job" / "completed.failure.json", "workflow_job"),
        (DATA / "github" / "workflow_job" / "completed.success.json", "workflow_job"),
        (DATA / "github" / "pull_request" / "closed.merged.json", "pull_request"),
    ]
    ids = [str(uuid.uuid4()) for _ in deliveries]
    agent = make_agent(name=unique_name("normalizer"), topic_prefix=prefix)
    try:
        # Two gateway processes: the second has not seen the first's deliveries, so the
        # redelivery reaches Kafka a second time (as after a gateway restart).
        for _ in range(2):
            with serve_gateway(Gateway(settings, kafka)) as url:
                for (path, event), delivery in zip(deliveries, ids, strict=True):
                    r = _deliver(url, path, event, delivery)
                    assert r.status_code == 200 and r.json()["status"] == "stored", r.text
        with _running(agent, kafka):
            events = _read(kafka, prefix + "events.code", at_least=10)
        assert len(events) == 10  # five facts, each delivered twice
        by_id: dict[str, list] = {}
        for key, ev in events:
            assert key == ev.meta.subject
            by_id.setdefault(ev.meta.id, []).append(ev)
        assert len(by_id) == 5 and all(len(v) == 2 and v[0] == v[1] for v in by_id.values())
        types = sorted(type(v[0]).__name__ for v in by_id.values())
        assert types == [
            "BuildFailed",
            "BuildRecovered",
            "PullRequestMerged",
            "PullRequestOpened",
            "ReviewRequested",
        ]
        keys = {type(v[0]).__name__: v[0].meta.subject for v in by_id.values()}
        assert keys["PullRequestOpened"] == "Codertocat/Hello-World#2"
        job = json.loads(deliveries[2][0].read_text())
        assert keys["BuildFailed"] == keys["BuildRecovered"] == job["repository"]["full_name"]
    finally:
        delete_topics(kafka_admin, names)


def test_malformed_records_are_dead_lettered_and_skips_counted(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    prefix = unique_name("norm") + "."
    names = _topics(kafka_admin, prefix)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix)
    serde = make_serde(kafka)
    name = unique_name("normalizer")
    agent = make_agent(name=name, topic_prefix=prefix)

    producer = Producer(kafka.client_config(**{"enable.idempotence": True}))
    broken = make_raw("github", "pull_request", b'{"action": "opened"}', delivery_id="broken-1")
    push = (DATA / "github" / "push" / "push.json").read_bytes()
    skipped = make_raw("github", "push", push, delivery_id="push-1")
    channel = (
        DATA
        / "slack"
        / "events_api"
        / "bolt-python"
        / "message__message__message_body__e845082a.json"
    ).read_bytes()
    message = make_raw("slack", "message", channel, delivery_id="Ev-msg-1")
    for topic, raw in (
        (prefix + "ingest.github", broken),
        (prefix + "ingest.github", skipped),
        (prefix + "ingest.slack", message),
    ):
        producer.produce(topic, key=b"k", value=serde.encode(topic, raw))
    assert producer.flush(30) == 0
    labels = {"source": "github", "reason": "push"}
    before = REGISTRY.get_sample_value("agentstream_normalizer_skipped_total", labels) or 0
    try:
        with _running(agent, kafka):
            dead = _read(kafka, f"{prefix}dlq.{name}", at_least=1)
            chat = _read(kafka, prefix + "events.chat", at_least=1)
            deadline = time.monotonic() + 30
            while (
                REGISTRY.get_sample_value("agentstream_normalizer_skipped_total", labels) == before
            ):
                assert time.monotonic() < deadline, "the push skip was not counted"
                time.sleep(0.1)
        assert len(dead) == 1
        letter = dead[0][1]
        assert "required field 'repository' is missing" in letter.error_message
        assert letter.error_type == "MalformedPayloadError"
        assert len(chat) == 1 and type(chat[0][1]).__name__ == "MessagePosted"
        assert chat[0][0] == chat[0][1].channel
    finally:
        delete_topics(kafka_admin, [*names, f"{prefix}dlq.{name}"])


def test_importers_write_the_same_raw_ids_on_a_rerun(
    bootstrap_servers: str, kafka_admin: AdminClient, monkeypatch, tmp_path: Path
) -> None:
    prefix = unique_name("imp") + "."
    names = _topics(kafka_admin, prefix)
    monkeypatch.setenv("AGENTSTREAM_BOOTSTRAP_SERVERS", bootstrap_servers)
    monkeypatch.setenv("AGENTSTREAM_TOPIC_PREFIX", prefix)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix)
    runner = CliRunner()
    export = DATA / "slack" / "export" / "slackdump-source_export_dir"
    try:
        summaries = []
        for _ in range(2):
            r = runner.invoke(app, ["import", "slack-export", str(export)])
            assert r.exit_code == 0, r.output
            summaries.append(r.stdout.strip().splitlines()[-1])
        assert summaries[0] == summaries[1]
        n = 1 + sum(len(json.loads(p.read_text())) for p in export.glob("*/*.json"))
        assert summaries[0].startswith(f"imported {n} record(s) from 5 file(s) to {prefix}ingest.")
        raws = [raw for _, raw in _read(kafka, prefix + "ingest.slack", at_least=2 * n)]
        ids = [raw.id for raw in raws]
        assert len(ids) == 2 * n and len(set(ids)) == n
        r = runner.invoke(app, ["import", "ics", str(DATA / "ics")])
        assert r.exit_code == 0, r.output
        assert "imported 20 record(s) from 20 file(s)" in r.stdout
        prs = DATA / "github" / "pull_request"
        gh = runner.invoke(app, ["import", "github-folder", str(prs)])
        n_prs = len(list(prs.glob("*.json")))
        assert gh.exit_code == 0 and f"imported {n_prs} record(s)" in gh.stdout, gh.output
        unreadable = tmp_path / "bad.json"
        unreadable.write_text("{")
        bad = runner.invoke(app, ["import", "github-folder", str(tmp_path)])
        assert bad.exit_code == 1 and "1 unreadable" in bad.stdout
        assert json.loads(raws[0].body)  # the message object as exported
    finally:
        delete_topics(kafka_admin, names)


def test_a_failed_build_is_remembered_across_a_restart(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    prefix = unique_name("norm") + "."
    names = _topics(kafka_admin, prefix)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix)
    serde = make_serde(kafka)
    name = unique_name("normalizer")
    topic = prefix + "ingest.github"
    producer = Producer(kafka.client_config(**{"enable.idempotence": True}))

    def deliver(rel: str, delivery: str) -> None:
        body = (DATA / "github" / rel).read_bytes()
        repo = json.loads(body)["repository"]["full_name"].encode()
        raw = make_raw("github", "workflow_job", body, delivery_id=delivery)
        producer.produce(topic, key=repo, value=serde.encode(topic, raw))
        assert producer.flush(30) == 0

    try:
        deliver("workflow_job/completed.failure.json", "job-failed")
        with _running(make_agent(name=name, topic_prefix=prefix), kafka):
            (failed,) = [ev for _, ev in _read(kafka, prefix + "events.code", at_least=1)]
        # A new process of the same agent: the failure comes back from the memory changelog.
        deliver("workflow_job/completed.success.json", "job-green")
        with _running(make_agent(name=name, topic_prefix=prefix), kafka):
            events = [ev for _, ev in _read(kafka, prefix + "events.code", at_least=2)]
        assert [type(e).__name__ for e in events] == ["BuildFailed", "BuildRecovered"]
        assert events[1].failed_run_id == failed.run_id
    finally:
        delete_topics(kafka_admin, [*names, f"{prefix}dlq.{name}", f"{prefix}memory.{name}.builds"])
