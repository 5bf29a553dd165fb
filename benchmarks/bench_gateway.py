"""Gateway throughput: signed GitHub deliveries from concurrent clients on loopback.

Run:  KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_gateway.py \\
          [--clients 50] [--seconds 8] [--rounds 3]

Two contenders, each served by uvicorn in its own process, interleaved in rounds (this machine's
speed drifts): the ceiling, a minimal Starlette app that only verifies X-Hub-Signature-256 and
answers 200; and the AgentStream gateway, which also parses the body, builds the RawRecord,
produces it (acks=all, idempotent) and answers only after Kafka's acknowledgement. The load is
``--clients`` keep-alive connections, each sending the next request when the previous answer
arrived (the same real ``pull_request.opened`` payload, a fresh X-GitHub-Delivery each time).
Printed: requests/s, p50/p99 latency, the server process's CPU time per request (user + system,
all threads; librdkafka's included), the per-round ratios, and a check that the
topic holds exactly as many records as the gateway answered 200. Target: ≥ 0.5x the ceiling's
requests/s with p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _common import broker  # noqa: E402

from agentstream.testing import create_topic, delete_topics, unique_name  # noqa: E402

ROOT = BENCH.parent
PAYLOAD = ROOT / "tests" / "data" / "github" / "pull_request" / "opened.json"
SECRET = "bench-secret"


def serve(kind: str, port: int, bootstrap: str, prefix: str) -> None:
    import uvicorn  # noqa: PLC0415
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import JSONResponse, PlainTextResponse, Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    from agentstream.config import KafkaSettings  # noqa: PLC0415
    from agentstream.connectors import (  # noqa: PLC0415
        Gateway,
        GatewaySettings,
        SignatureError,
        verify_github,
    )

    if kind == "ceiling":

        async def hook(request: Request) -> Response:
            body = await request.body()
            try:
                verify_github([SECRET], body, request.headers.get("x-hub-signature-256"))
            except SignatureError as exc:
                return PlainTextResponse(str(exc), status_code=401)
            return JSONResponse({"status": "ok"})

        app = Starlette(routes=[Route("/webhooks/github", hook, methods=["POST"])])
    else:
        settings = GatewaySettings(github_secrets=[SECRET])  # type: ignore[list-item]
        app = Gateway(settings, KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)).app
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _request(body: bytes, signature: str) -> bytes:
    head = (
        "POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {delivery}\r\n"
        f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _client(port: int, template: bytes, until: float, lat: list[float], codes: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head, _, body = template.partition(b"\r\n\r\n")
    try:
        while time.monotonic() < until:
            req = head.replace(b"{delivery}", str(uuid.uuid4()).encode()) + b"\r\n\r\n" + body
            t0 = time.perf_counter()
            writer.write(req)
            status_line = await reader.readuntil(b"\r\n")
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            code = int(status_line.split(b" ", 2)[1])
            codes[code] = codes.get(code, 0) + 1
    finally:
        writer.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    port: int, clients: int, seconds: float, template: bytes, pid: int
) -> tuple[float, list[float], dict[int, int], float]:
    # Warm-up: one second of load that is not counted.
    until = time.monotonic() + 1.0
    await asyncio.gather(*(_client(port, template, until, [], {}) for _ in range(clients)))
    lat: list[float] = []
    codes: dict[int, int] = {}
    cpu0 = _cpu_seconds(pid)
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(port, template, until, lat, codes) for _ in range(clients)))
    took = time.monotonic() - started
    return took, lat, codes, _cpu_seconds(pid) - cpu0


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import socket  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"server did not listen on {port} within {timeout}s")


def _records(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("wm")})
    try:
        total = 0
        for p in range(3):
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), 10)
            total += high - low
        return total
    finally:
        c.close()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _round(
    kind: str, bootstrap: str, prefix: str, opts: argparse.Namespace, template: bytes
) -> tuple[float, list[float], dict[int, int], float]:
    """Serve ``kind`` in its own process and load it for ``opts.seconds``."""
    from agentstream.localkafka import free_port  # noqa: PLC0415

    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port),
           "--bootstrap", bootstrap, "--prefix", prefix]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        _wait_port(port, proc)
        return asyncio.run(_load(port, opts.clients, opts.seconds, template, proc.pid))
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--serve", choices=["ceiling", "gateway"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--bootstrap", help=argparse.SUPPRESS)
    p.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.serve:
        serve(opts.serve, opts.port, opts.bootstrap, opts.prefix)
        return 0

    from agentstream.connectors import sign_github  # noqa: PLC0415

    body = PAYLOAD.read_bytes()
    template = _request(body, sign_github(SECRET, body))
    with broker() as (bootstrap, described):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        prefix = unique_name("benchgw") + "."
        topic = f"{prefix}ingest.github"
        create_topic(admin, topic, partitions=3)
        print(
            f"bench_gateway: {opts.clients} clients, {opts.seconds:.0f} s x {opts.rounds} rounds, "
            f"payload {len(body)} bytes, {described}"
        )
        results: dict[str, list[tuple[float, float, float, float]]] = {"ceiling": [], "gateway": []}
        stored = answered_200 = 0
        try:
            for rnd in range(1, opts.rounds + 1):
                for kind in ("ceiling", "gateway"):
                    took, lat, codes, cpu = _round(kind, bootstrap, prefix, opts, template)
                    ok = codes.get(200, 0)
                    rps = len(lat) / took
                    cpu_us = cpu / max(1, len(lat)) * 1e6
                    results[kind].append((rps, pct(lat, 0.5), pct(lat, 0.99), cpu_us))
                    if kind == "gateway":
                        answered_200 += ok
                    print(
                        f"  round {rnd} {kind:8s} {rps:8.0f} req/s  p50 {pct(lat, 0.5):6.1f} ms  "
                        f"p99 {pct(lat, 0.99):6.1f} ms  server CPU {cpu_us:5.0f} us/request  "
                        f"answers {dict(sorted(codes.items()))}",
                        flush=True,
                    )
            stored = _records(bootstrap, topic)
        finally:
            delete_topics(admin, [topic])
    ratios = [g[0] / c[0] for c, g in zip(results["ceiling"], results["gateway"], strict=True)]
    cpu_ratios = [c[3] / g[3] for c, g in zip(results["ceiling"], results["gateway"], strict=True)]
    g_p99 = max(g[2] for g in results["gateway"])
    print(
        f"gateway / ceiling requests/s per round: {', '.join(f'{r:.2f}' for r in ratios)} "
        f"(median {statistics.median(ratios):.2f}; target >= 0.5)"
    )
    print(f"gateway p99 (worst round): {g_p99:.1f} ms (target < 50 ms)")
    print(
        "server CPU per request, ceiling / gateway (what a request costs the server process, "
        f"less sensitive to other load): {', '.join(f'{r:.2f}' for r in cpu_ratios)} "
        f"(median {statistics.median(cpu_ratios):.2f})"
    )
    print(
        f"records on {topic}: {stored}; 200 answers before the warm-up-free count plus warm-up: "
        f"{'consistent' if stored >= answered_200 else 'MISSING RECORDS'} "
        f"({answered_200} counted 200s, the rest were warm-up requests)"
    )
    print(
        "reproduce: KAFKA_BOOTSTRAP_SERVERS=... .venv/bin/python benchmarks/bench_gateway.py "
        f"--clients {opts.clients} --seconds {opts.seconds:g} --rounds {opts.rounds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
