"""Gateway throughput: signed GitHub deliveries from concurrent clients on loopback.

Run:  KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_gateway.py \\
          [--clients 50] [--seconds 8] [--rounds 3] [--workers 1]

Two contenders, each served by uvicorn in its own process, interleaved in rounds (this machine's
speed drifts): the ceiling, a minimal Starlette app that only verifies X-Hub-Signature-256 and
answers 200; and the AgentStream gateway, which also checks the body, builds the RawRecord,
produces it (acks=all, idempotent) and answers only after Kafka's acknowledgement. The load is
``--clients`` keep-alive connections, each sending the next request when the previous answer
arrived (the same real ``pull_request.opened`` payload, a fresh X-GitHub-Delivery each time).
``--workers N`` serves both contenders with N uvicorn worker processes (the gateway's
``AGENTSTREAM_GATEWAY_WORKERS``), so the ratio compares like with like.
Printed: requests/s, p50/p99 latency, CPU time per request (user + system) of the server
processes split into Python threads and librdkafka's threads, of the broker (when it is a process
on this machine) and of the load generator; the per-round ratios, and a check that the topic
holds at least as many records as the gateway answered 200. Target: ≥ 0.5x the ceiling's
requests/s with p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _common import broker  # noqa: E402

from agentstream.testing import create_topic, delete_topics, unique_name  # noqa: E402

ROOT = BENCH.parent
PAYLOAD = ROOT / "tests" / "data" / "github" / "pull_request" / "opened.json"
SECRET = "bench-secret"


def ceiling_app() -> Any:
    """The ceiling: a minimal Starlette app that verifies X-Hub-Signature-256 and answers.

    Its start-up heap is frozen out of the garbage collector like the gateway's (``gc.freeze``
    after start-up), so neither contender's tail is a full collection of its import-time objects.
    """
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import JSONResponse, PlainTextResponse, Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    from agentstream.connectors import SignatureError, verify_github  # noqa: PLC0415

    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            verify_github([SECRET], body, request.headers.get("x-hub-signature-256"))
        except SignatureError as exc:
            return PlainTextResponse(str(exc), status_code=401)
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gc.collect()
        gc.freeze()
        yield

    return Starlette(routes=[Route("/webhooks/github", hook, methods=["POST"])], lifespan=lifespan)


def serve(kind: str, port: int, bootstrap: str, prefix: str, workers: int) -> None:
    import socket  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    from agentstream.config import KafkaSettings  # noqa: PLC0415
    from agentstream.connectors import GatewaySettings, run_gateway  # noqa: PLC0415

    if kind == "ceiling":
        config = uvicorn.Config(ceiling_app, factory=True, workers=workers, host="127.0.0.1",
                                port=port, log_level="warning", access_log=False)  # fmt: skip
        if workers == 1:
            uvicorn.Server(config).run()
            return
        # As the gateway does: uvicorn's bound socket says proto 0, and connections accepted on
        # it would then keep Nagle's algorithm (~40 ms per keep-alive answer).
        bound = config.bind_socket()
        sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        sock.set_inheritable(True)
        Multiprocess(config, sockets=[sock]).run()
        return
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    settings = GatewaySettings(
        github_secrets=[SECRET],  # type: ignore[list-item]
        host="127.0.0.1",
        port=port,
        workers=workers,
    )
    run_gateway(settings, kafka)  # the process `agentstream gateway` runs


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


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the uvicorn supervisor and its workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return found


def _cpu(pid: int | None) -> tuple[float, float]:
    """``(Python threads, librdkafka threads)`` CPU seconds (user + system) of ``pid``'s tree."""
    if pid is None:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    py = rdk = 0.0
    for p in _tree(pid):
        for stat in Path(f"/proc/{p}/task").glob("*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            name = text.split("(", 1)[1].rsplit(")", 1)[0]
            fields = text.rsplit(")", 1)[1].split()
            took = (int(fields[11]) + int(fields[12])) / tick
            if name.startswith("rdk:"):
                rdk += took
            else:
                py += took
    return py, rdk


def _listener_pid(port: int) -> int | None:
    """The process listening on a local TCP ``port`` (the broker), if /proc shows it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name)
    return None


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


class Round:
    """One contender's figures for one round."""

    def __init__(self, took: float, lat: list[float], codes: dict[int, int],
                 cpu: dict[str, float]) -> None:  # fmt: skip
        self.codes = codes
        n = max(1, len(lat))
        self.rps = len(lat) / took
        self.p50, self.p99 = pct(lat, 0.5), pct(lat, 0.99)
        self.us = {k: v / n * 1e6 for k, v in cpu.items()}  # CPU µs per request by component

    @property
    def server_us(self) -> float:
        return self.us["python"] + self.us["librdkafka"]


async def _load(
    port: int, clients: int, seconds: float, template: bytes, *, pid: int, broker_pid: int | None
) -> Round:
    # Warm-up: one second of load that is not counted.
    until = time.monotonic() + 1.0
    await asyncio.gather(*(_client(port, template, until, [], {}) for _ in range(clients)))
    lat: list[float] = []
    codes: dict[int, int] = {}
    py0, rdk0 = _cpu(pid)
    broker0, client0 = sum(_cpu(broker_pid)), time.process_time()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(port, template, until, lat, codes) for _ in range(clients)))
    took = time.monotonic() - started
    py1, rdk1 = _cpu(pid)
    cpu = {
        "python": py1 - py0,
        "librdkafka": rdk1 - rdk0,
        "broker": sum(_cpu(broker_pid)) - broker0,
        "client": time.process_time() - client0,
    }
    return Round(took, lat, codes, cpu)


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


def _round(
    kind: str, bootstrap: str, prefix: str, opts: argparse.Namespace, template: bytes, *,
    broker_pid: int | None,
) -> Round:  # fmt: skip
    """Serve ``kind`` in its own process (tree) and load it for ``opts.seconds``."""
    from agentstream.localkafka import free_port  # noqa: PLC0415

    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--bootstrap",
           bootstrap, "--prefix", prefix, "--workers", str(opts.workers)]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        _wait_port(port, proc)
        if opts.workers > 1:  # the supervisor's socket answers before every worker is up
            deadline = time.monotonic() + 60
            while len(_tree(proc.pid)) < opts.workers + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(3.0)
        return asyncio.run(
            _load(port, opts.clients, opts.seconds, template, pid=proc.pid, broker_pid=broker_pid)
        )
    finally:
        proc.terminate()
        proc.wait(30)


def _fmt(values: list[float], spec: str = ".2f") -> str:
    return ", ".join(format(v, spec) for v in values)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers for both contenders")
    p.add_argument("--serve", choices=["ceiling", "gateway"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--bootstrap", help=argparse.SUPPRESS)
    p.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.serve:
        serve(opts.serve, opts.port, opts.bootstrap, opts.prefix, opts.workers)
        return 0

    from agentstream.connectors import GatewaySettings, sign_github  # noqa: PLC0415

    body = PAYLOAD.read_bytes()
    template = _request(body, sign_github(SECRET, body))
    linger_ms = GatewaySettings().linger.total_seconds() * 1000
    with broker() as (bootstrap, described):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        prefix = unique_name("benchgw") + "."
        topic = f"{prefix}ingest.github"
        create_topic(admin, topic, partitions=3)
        host, _, bport = bootstrap.split(",")[0].rpartition(":")
        broker_pid = _listener_pid(int(bport)) if host in ("127.0.0.1", "localhost") else None
        print(
            f"bench_gateway: {opts.clients} clients, {opts.seconds:g} s x {opts.rounds} rounds, "
            f"{opts.workers} uvicorn worker(s) per contender, payload {len(body)} bytes, "
            f"{described} (broker CPU {'measured' if broker_pid else 'not visible'}), "
            f"gateway linger {linger_ms:g} ms, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        results: dict[str, list[Round]] = {"ceiling": [], "gateway": []}
        stored = answered_200 = 0
        try:
            for rnd in range(1, opts.rounds + 1):
                for kind in ("ceiling", "gateway"):
                    r = _round(kind, bootstrap, prefix, opts, template, broker_pid=broker_pid)
                    results[kind].append(r)
                    if kind == "gateway":
                        answered_200 += r.codes.get(200, 0)
                    print(
                        f"  round {rnd} {kind:8s} {r.rps:6.0f} req/s  p50 {r.p50:5.1f} ms  "
                        f"p99 {r.p99:6.1f} ms  CPU us/request: server {r.server_us:3.0f} "
                        f"(python {r.us['python']:.0f} + librdkafka {r.us['librdkafka']:.0f}), "
                        f"broker {r.us['broker']:.0f}, client {r.us['client']:.0f}  "
                        f"answers {dict(sorted(r.codes.items()))}  "
                        f"load average {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
            stored = _records(bootstrap, topic)
        finally:
            delete_topics(admin, [topic])
    ceiling, gateway = results["ceiling"], results["gateway"]
    ratios = [g.rps / c.rps for c, g in zip(ceiling, gateway, strict=True)]
    cpu_ratios = [c.server_us / g.server_us for c, g in zip(ceiling, gateway, strict=True)]
    print(
        f"gateway / ceiling requests/s per round: {_fmt(ratios)} "
        f"(median {statistics.median(ratios):.2f}; target >= 0.5)"
    )
    for name, rounds in results.items():
        print(
            f"{name} per round: req/s {_fmt([r.rps for r in rounds], '.0f')}; "
            f"p50 {_fmt([r.p50 for r in rounds], '.1f')} ms; "
            f"p99 {_fmt([r.p99 for r in rounds], '.1f')} ms"
        )
    print(f"gateway p99 (worst round): {max(g.p99 for g in gateway):.1f} ms (target < 50 ms)")
    print(
        "server CPU per request, ceiling / gateway (what a request costs the server processes, "
        f"less sensitive to other load): {_fmt(cpu_ratios)} "
        f"(median {statistics.median(cpu_ratios):.2f})"
    )
    print(
        f"records on {topic}: {stored}; gateway 200 answers counted {answered_200} (plus warm-up "
        f"requests): {'consistent' if stored >= answered_200 else 'MISSING RECORDS'}"
    )
    print(
        "reproduce: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python "
        f"benchmarks/bench_gateway.py --clients {opts.clients} --seconds {opts.seconds:g} "
        f"--rounds {opts.rounds} --workers {opts.workers}"
    )
    return 0 if stored >= answered_200 else 1


if __name__ == "__main__":
    sys.exit(main())
