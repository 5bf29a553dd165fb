"""The gateway over real HTTP (uvicorn on a free port) against the real broker.

Every answer is checked against what reached ``ingest.*``: a 2xx only after the raw record was
acknowledged, and nothing at all for a rejected request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.connectors import Gateway, GatewaySettings, serve_gateway, sign_github, sign_slack
from agentstream.events import RawRecord
from agentstream.serde import make_serde
from agentstream.testing import create_topic, delete_topics, unique_name

DATA = Path(__file__).resolve().parents[1] / "data"
SLACK_SECRET = "slack-test-signing-secret"
GITHUB_SECRET = "github-test-secret"


def _vectors(source: str) -> list[dict]:
    text = (DATA / source / "signature_vectors.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class Running:
    url: str
    kafka: KafkaSettings
    gateway: Gateway

    def topic(self, source: str) -> str:
        return f"{self.kafka.topic_prefix}ingest.{source}"

    def count(self, source: str) -> int:
        c = Consumer(self.kafka.client_config(**{"group.id": unique_name("wm")}))
        try:
            total = 0
            for p in range(3):
                low, high = c.get_watermark_offsets(TopicPartition(self.topic(source), p), 10)
                total += high - low
            return total
        finally:
            c.close()

    def records(self, source: str) -> list[RawRecord]:
        serde = make_serde(self.kafka)
        c = Consumer(
            self.kafka.client_config(
                **{
                    "group.id": unique_name("read"),
                    "auto.offset.reset": "earliest",
                    "enable.partition.eof": True,
                }
            )
        )
        want = self.count(source)
        got: list[RawRecord] = []
        try:
            c.assign([TopicPartition(self.topic(source), p, 0) for p in range(3)])
            deadline = time.monotonic() + 20
            while len(got) < want:
                assert time.monotonic() < deadline, f"read {len(got)} of {want} records"
                msg = c.poll(0.2)
                if msg is None or msg.error() is not None:
                    continue
                raw = serde.decode(self.topic(source), msg.value())
                assert isinstance(raw, RawRecord)
                got.append(raw)
            return got
        finally:
            c.close()


def _secrets() -> list[str]:
    # Several secrets at once (rotation): every secret of the published vectors, plus ours.
    return sorted({v["secret"] for v in _vectors("github")} | {GITHUB_SECRET})


def _start(bootstrap: str, admin: AdminClient, **settings: object) -> Iterator[Running]:
    prefix = unique_name("gw") + "."
    for source in ("github", "slack"):
        create_topic(admin, f"{prefix}ingest.{source}", partitions=3)
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    clock = settings.pop("clock", time.time)
    gs = GatewaySettings(
        **{  # type: ignore[arg-type]
            "github_secrets": _secrets(),
            "slack_signing_secrets": [_vectors("slack")[0]["signing_secret"], SLACK_SECRET],
            "ack_timeout": timedelta(seconds=5),
            **settings,
        }
    )
    gateway = Gateway(gs, kafka, clock=clock)  # type: ignore[arg-type]
    try:
        with serve_gateway(gateway) as url:
            yield Running(url, kafka, gateway)
    finally:
        delete_topics(admin, [f"{prefix}ingest.github", f"{prefix}ingest.slack"])


@pytest.fixture
def gw(bootstrap_servers: str, kafka_admin: AdminClient) -> Iterator[Running]:
    yield from _start(bootstrap_servers, kafka_admin, max_body_bytes=64 * 1024)


def _github_headers(
    body: bytes, event: str, delivery: str | None = None, secret: str = GITHUB_SECRET
) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign_github(secret, body),
        "Content-Type": "application/json",
    }


def test_github_signature_vectors_verify_over_http(gw: Running) -> None:
    stored: set[str] = set()
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        for v in _vectors("github"):
            if v["name"].endswith("wrong-secret"):
                continue  # signed with 'mysecret', which this gateway accepts (unit-tested)
            if "payload_file" in v:
                capture = json.loads(
                    (
                        DATA / "github" / v["payload_file"].split(" ")[0].removeprefix("github/")
                    ).read_text()
                )
                body = base64.b64decode(capture["body_raw_base64"])
                headers = {
                    "X-GitHub-Event": v["x_github_event"],
                    "X-GitHub-Delivery": v["x_github_delivery"],
                    "X-Hub-Signature-256": v["x_hub_signature_256"],
                    "Content-Type": "application/json",
                }
            else:
                body = v["payload"].encode()
                headers = {
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": v["x_hub_signature_256"],
                }
            r = http.post("/webhooks/github", content=body, headers=headers)
            if not v.get("expect_valid", True):
                assert r.status_code == 401, (v["name"], r.text)
                continue
            if "payload_file" in v:
                assert r.status_code == 200, (v["name"], r.text)
                assert r.json()["status"] == "stored"
                stored.add(v["x_github_delivery"])
                flipped = bytes([body[0] ^ 0x20]) + body[1:]  # '{' -> '['
                r2 = http.post("/webhooks/github", content=flipped, headers=headers)
                assert r2.status_code == 401, r2.text
            elif v["payload"].startswith("{"):  # a JSON object: stored like any delivery
                assert r.status_code == 200, (v["name"], r.text)
                stored.add(headers["X-GitHub-Delivery"])
            else:  # verified; what is left is that "Hello, World!" is not JSON
                assert r.status_code == 400 and "not valid JSON" in r.text, (v["name"], r.text)
    got = gw.records("github")
    assert {r.delivery_id for r in got} == stored and len(got) == len(stored) == 12
    by_delivery = {r.delivery_id: r for r in got}
    for v in _vectors("github"):
        if "payload_file" in v:
            raw = by_delivery[v["x_github_delivery"]]
            assert raw.kind == v["x_github_event"] and raw.attempt == 1
            assert len(raw.body) == v["payload_len"]  # the exact signed bytes


def test_slack_signature_vectors_verify_over_http(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    vectors = {v["name"]: v for v in _vectors("slack")}
    good = vectors["slack-docs-slash-command"]
    for running in _start(
        bootstrap_servers, kafka_admin, clock=lambda: float(good["now_for_test"])
    ):
        with httpx.Client(base_url=running.url, timeout=10) as http:
            for name, v in vectors.items():
                headers = {
                    "X-Slack-Request-Timestamp": v["x_slack_request_timestamp"],
                    "X-Slack-Signature": v["x_slack_signature"],
                    "Content-Type": v.get("content_type", "application/x-www-form-urlencoded"),
                }
                r = http.post("/webhooks/slack", content=v["body"].encode(), headers=headers)
                if name == "slack-docs-stale-timestamp":
                    continue  # checked below against a real clock
                if v["expect_valid"]:
                    # Verified; a slash command is then not something the product ingests.
                    assert r.status_code == 202 and r.text.startswith("ignored:"), r.text
                else:
                    assert r.status_code == 401, (name, r.text)
        assert running.count("slack") == 0
    for running in _start(bootstrap_servers, kafka_admin):  # real clock: the capture is stale
        stale = vectors["slack-docs-stale-timestamp"]
        r = httpx.post(
            f"{running.url}/webhooks/slack",
            content=stale["body"].encode(),
            headers={
                "X-Slack-Request-Timestamp": stale["x_slack_request_timestamp"],
                "X-Slack-Signature": stale["x_slack_signature"],
            },
            timeout=10,
        )
        assert r.status_code == 401 and "away from now" in r.text
        assert running.count("slack") == 0


def _slack_post(
    http: httpx.Client, body: bytes, *, retry: int | None = None, ts: int | None = None
) -> httpx.Response:
    stamp = str(ts if ts is not None else int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "Content-Type": "application/json",
        "X-Slack-Signature": sign_slack(SLACK_SECRET, stamp, body),
    }
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return http.post("/webhooks/slack", content=body, headers=headers)


def test_slack_events_handshake_retries_and_ignored(gw: Running) -> None:
    events = DATA / "slack" / "events_api" / "bolt-python"
    message = (events / "message__message__message_body__e845082a.json").read_bytes()
    home = (events / "app_home_opened__events_org_apps__event_payload__59d47560.json").read_bytes()
    challenge = (
        DATA / "slack" / "events_api" / "python-slack-events-api" / "url_verification.json"
    ).read_bytes()
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        r = _slack_post(http, challenge)
        assert r.status_code == 200 and r.json() == {
            "challenge": json.loads(challenge)["challenge"]
        }
        r = _slack_post(http, home)
        assert r.status_code == 202 and r.text == "ignored: event 'app_home_opened' is not consumed"
        first = _slack_post(http, message)
        assert first.status_code == 200 and first.json()["status"] == "stored"
        retried = _slack_post(http, message, retry=1)
        assert retried.status_code == 200 and retried.json() == {
            "status": "duplicate",
            "id": first.json()["id"],
        }
        r = _slack_post(http, message, ts=int(time.time()) - 301)
        assert r.status_code == 401
    got = gw.records("slack")
    assert len(got) == 1 and got[0].id == first.json()["id"]
    assert got[0].delivery_id == json.loads(message)["event_id"] and got[0].kind == "message"
    assert got[0].body == message


def test_bad_requests_get_their_status_and_publish_nothing(gw: Running) -> None:
    opened = (DATA / "github" / "pull_request" / "opened.json").read_bytes()
    big = json.dumps({"repository": {"full_name": "o/r"}, "pad": "x" * 70_000}).encode()
    broken = b'{"action": "opened", "pull_request": '
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        post = lambda body, headers: http.post("/webhooks/github", content=body, headers=headers)  # noqa: E731
        r = post(opened, {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"})
        assert r.status_code == 401 and "missing X-Hub-Signature-256" in r.text
        r = post(opened, _github_headers(opened, "pull_request", secret="not-configured"))
        assert r.status_code == 401 and "not-configured" not in r.text
        r = post(big, _github_headers(big, "pull_request"))
        assert r.status_code == 413 and "65536-byte limit" in r.text
        r = post(broken, _github_headers(broken, "pull_request"))
        assert r.status_code == 400 and r.text.startswith("body is not valid JSON: ")
        assert r.text.endswith("at line 1 column 38"), r.text
        r = post(opened, _github_headers(opened, "marketplace_purchase"))
        assert (
            r.status_code == 202
            and r.text == "ignored: event 'marketplace_purchase' is not consumed"
        )
        headers = _github_headers(opened, "pull_request")
        del headers["X-GitHub-Delivery"]
        r = post(opened, headers)
        assert r.status_code == 400 and "X-GitHub-Delivery" in r.text
        ping = (DATA / "github" / "ping" / "ping.json").read_bytes()
        r = post(ping, _github_headers(ping, "ping"))
        assert r.status_code == 200 and r.json() == {"status": "pong"}
        r = _slack_post(http, b'{"type": "event_callback", "event": ')
        assert r.status_code == 400 and "not valid JSON" in r.text
        # the gateway is strict: Slack's documentation quirk (a trailing comma) is refused here,
        # though the normalizer reads such files leniently
        r = _slack_post(http, b'{"type": "event_callback", "event": {"type": "message",}}')
        assert r.status_code == 400 and "not valid JSON" in r.text
        metrics = http.get("/metrics").text
    assert gw.count("github") == 0 and gw.count("slack") == 0
    assert (
        'agentstream_gateway_requests_total{event="unknown",outcome="too_large",source="github"}'
        in metrics
    )
    assert GITHUB_SECRET not in metrics


def test_a_redelivered_github_delivery_keeps_its_raw_id(gw: Running) -> None:
    body = (DATA / "github" / "pull_request" / "closed.merged.json").read_bytes()
    delivery = str(uuid.uuid4())
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        first = http.post(
            "/webhooks/github",
            content=body,
            headers=_github_headers(body, "pull_request", delivery),
        )
        again = http.post(
            "/webhooks/github",
            content=body,
            headers=_github_headers(body, "pull_request", delivery),
        )
        other = http.post(
            "/webhooks/github", content=body, headers=_github_headers(body, "pull_request")
        )
    assert first.status_code == again.status_code == other.status_code == 200
    assert again.json() == {"status": "duplicate", "id": first.json()["id"]}
    assert other.json()["id"] != first.json()["id"]
    got = gw.records("github")
    assert sorted(r.id for r in got) == sorted([first.json()["id"], other.json()["id"]])
    assert all(r.body == body for r in got)


def test_agentstream_gateway_runs_as_a_process(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from agentstream.localkafka import free_port  # noqa: PLC0415

    prefix = unique_name("gwp") + "."
    create_topic(kafka_admin, f"{prefix}ingest.github", partitions=3)
    port = free_port()
    env = {
        **os.environ,
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers,
        "AGENTSTREAM_TOPIC_PREFIX": prefix,
        "AGENTSTREAM_GATEWAY_GITHUB_SECRETS": f"old-secret,{GITHUB_SECRET}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentstream.cli",
            "gateway",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway did not answer /healthz in 60 s"
            time.sleep(0.1)
        body = (DATA / "github" / "pull_request" / "opened.json").read_bytes()
        r = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/github",
            content=body,
            headers=_github_headers(body, "pull_request"),
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["status"] == "stored", r.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        logs = proc.stderr.read().decode() if proc.stderr else ""
        assert GITHUB_SECRET not in logs and "old-secret" not in logs
    finally:
        if proc.poll() is None:
            proc.kill()
        delete_topics(kafka_admin, [f"{prefix}ingest.github"])


def test_webhook_fast_path_decides_like_the_full_parse(gw: Running) -> None:
    """The webhook routes bypass Starlette and read only the repository of a GitHub payload;
    unusual bodies still get exactly the full parse's answer, and other routes stay Starlette's."""
    not_utf8 = b'{"action": "opened", "title": "caf\xe9"}'
    array = b'[{"repository": {"full_name": "o/r"}}]'
    odd_repo = b'{"action": "opened", "repository": "o/r"}'
    payload = (DATA / "github" / "pull_request" / "opened.json").read_text()
    form = ("payload=" + urllib.parse.quote(payload)).encode()
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        post = lambda body, headers: http.post("/webhooks/github", content=body, headers=headers)  # noqa: E731
        r = post(not_utf8, _github_headers(not_utf8, "pull_request"))
        assert r.status_code == 400 and "UTF-8" in r.text, r.text
        r = post(array, _github_headers(array, "pull_request"))
        assert r.status_code == 400 and r.text == "body is not a JSON object"
        r = post(odd_repo, _github_headers(odd_repo, "pull_request"))
        assert r.status_code == 200 and r.json()["status"] == "stored", r.text
        headers = _github_headers(form, "pull_request")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        r = post(form, headers)
        assert r.status_code == 200 and r.json()["status"] == "stored", r.text
        assert r.headers["content-type"] == "application/json"
        assert http.get("/webhooks/github").status_code == 405
        assert http.post("/webhooks/gitlab", content=b"{}").status_code == 404
        assert http.get("/healthz").json() == {"status": "ok"}
    got = gw.records("github")
    assert sorted(r.body for r in got) == sorted([odd_repo, payload.encode()])


def test_webhook_routes_work_below_a_mount_point(gw: Running) -> None:
    """Mounted in another ASGI app (``root_path``), the webhook routes still answer and store."""
    gateway = Gateway(
        GatewaySettings(github_secrets=[GITHUB_SECRET]),  # type: ignore[list-item]
        gw.kafka,
    )
    body = (DATA / "github" / "pull_request" / "opened.json").read_bytes()

    async def post() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=gateway.app, root_path="/hooks")
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            stored = await http.post(
                "/hooks/webhooks/github",
                content=body,
                headers=_github_headers(body, "pull_request"),
            )
            health = await http.get("/hooks/healthz")
        return stored, health

    try:
        stored, health = asyncio.run(post())
    finally:
        gateway.publisher.close()
    assert stored.status_code == 200 and stored.json()["status"] == "stored", stored.text
    assert health.status_code == 200
    assert [r.id for r in gw.records("github")] == [stored.json()["id"]]


def test_agentstream_gateway_serves_with_several_workers(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from agentstream.localkafka import free_port  # noqa: PLC0415

    prefix = unique_name("gww") + "."
    topic = f"{prefix}ingest.github"
    create_topic(kafka_admin, topic, partitions=3)
    port = free_port()
    env = {
        **os.environ,
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers,
        "AGENTSTREAM_TOPIC_PREFIX": prefix,
        "AGENTSTREAM_GATEWAY_GITHUB_SECRETS": GITHUB_SECRET,
    }
    cmd = [sys.executable, "-m", "agentstream.cli", "gateway", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    body = (DATA / "github" / "pull_request" / "opened.json").read_bytes()
    try:
        deadline = time.monotonic() + 60
        while len(workers := _spawned_children(proc.pid)) < 2:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "two workers did not start in 60 s"
            time.sleep(0.1)
        ids = set()
        for _ in range(8):  # a new connection each time: the kernel spreads them over workers
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = httpx.post(
                        f"http://127.0.0.1:{port}/webhooks/github",
                        content=body,
                        headers=_github_headers(body, "pull_request"),
                        timeout=10,
                    )
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the gateway did not answer in 60 s"
                    time.sleep(0.1)
            assert r.status_code == 200 and r.json()["status"] == "stored", r.text
            ids.add(r.json()["id"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not any(Path(f"/proc/{w}").exists() for w in workers), "a worker outlived it"
        c = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": unique_name("wm")})
        try:
            total = 0
            for p in range(3):
                low, high = c.get_watermark_offsets(TopicPartition(topic, p), 10)
                total += high - low
        finally:
            c.close()
        assert len(ids) == 8 and total == 8
    finally:
        if proc.poll() is None:
            proc.kill()
        delete_topics(kafka_admin, [topic])


def _spawned_children(pid: int) -> list[int]:
    """Worker processes of a uvicorn supervisor (multiprocessing spawn children)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def test_publisher_acknowledges_concurrent_records_on_successive_loops(gw: Running) -> None:
    """Acknowledgements are handed to the loop that waits for them, in batches: many records
    in flight at once, then a second event loop on the same publisher (the first one closed)."""
    from agentstream.connectors import RawPublisher  # noqa: PLC0415
    from agentstream.connectors._raw import make_raw  # noqa: PLC0415

    publisher = RawPublisher(gw.kafka, timeout=timedelta(seconds=10))
    topic = gw.topic("github")

    async def burst(tag: str, n: int) -> list[float]:
        raws = [make_raw("github", "issues", b"{}", delivery_id=f"{tag}-{i}") for i in range(n)]
        return await asyncio.gather(*(publisher.publish(topic, "o/r", r) for r in raws))

    try:
        first = asyncio.run(burst("a", 200))
        second = asyncio.run(burst("b", 20))
    finally:
        publisher.close()
    assert len(first) == 200 and len(second) == 20
    assert gw.count("github") == 220
