"""The LLM path: an agent making one LLM call per input against a test server adding 500 ms.

Run:  KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_llm.py \\
          [--keys 1000] [--latency 0.5] [--rpm 6000] [--max-in-flight 100] [--rounds 2]

Three runs of the same agent (``--keys`` inputs with distinct keys, ``--max-in-flight``
handlers) against the OpenAI-compatible test server in its own process:
  1. through ``agentstream.llm`` with the limiter bound at ``--rpm``: throughput against that
     bound (target >= 0.9x);
  2. through ``agentstream.llm`` without an rpm bound (limiter, memo write, metering, retries
     armed) and 3. calling ``openai.AsyncOpenAI`` directly: both limited by
     max_in_flight / latency, so 2 / 3 is the layer's overhead.
Without KAFKA_BOOTSTRAP_SERVERS a local broker is started.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import openai
from _common import broker
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.llm import LLM, LLMSettings
from agentstream.localkafka import free_port
from agentstream.runtime import Agent, AgentRunner, AgentSettings, Context
from agentstream.schemas import new_meta
from agentstream.serde import make_serde
from agentstream.testing import create_topic, delete_topics, produce, unique_name

Call = Callable[[PullRequestOpened, Context], Awaitable[Any]]


def _inputs(bootstrap: str, admin: AdminClient, n: int) -> str:
    topic = create_topic(admin, unique_name("bench-llm"), partitions=4,
                         timeout=timedelta(seconds=60))
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    from datetime import UTC, datetime  # noqa: PLC0415

    records = []
    for i in range(n):
        e = PullRequestOpened(meta=new_meta(PullRequestOpened, source="bench", subject=f"k{i}"),
                              repo="octo/repo", number=i, title=f"change {i}", url="u",
                              author="a", base_branch="main", head_branch="f",
                              created_at=datetime.now(UTC))
        records.append((f"k{i}".encode(), serde.encode(topic, e)))
    produce(bootstrap, topic, records)
    return topic


def _run(bootstrap: str, topic: str, n: int, max_in_flight: int, call: Call) -> float:
    """Calls per second between the first and the last handler end (the first call of a run
    also opens the memo topic: set-up, not throughput)."""
    agent = Agent(unique_name("bench-llm-agent"))
    done = threading.Event()
    times: list[float] = []

    @agent.handler(PullRequestOpened, topic=topic)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        await call(event, ctx)
        times.append(time.monotonic())
        if len(times) == n:
            done.set()

    runner = AgentRunner(agent, settings=AgentSettings(max_in_flight=max_in_flight,
                                                       ops_port=None),
                         kafka=KafkaSettings(bootstrap_servers=bootstrap))
    t = threading.Thread(target=lambda: asyncio.run(runner.run()), daemon=True)
    t.start()
    try:
        if not done.wait(600):
            raise TimeoutError(f"only {len(times)} of {n} inputs handled in 600 s")
    finally:
        runner.stop()
        t.join(60)
    return (n - 1) / (times[-1] - times[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--rpm", type=int, default=6000)
    p.add_argument("--max-in-flight", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "agentstream.testing._openai",
                               "--port", str(port), "--latency", str(a.latency)],
                              stdout=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.readline()  # "serving ..."
    base_url = f"http://127.0.0.1:{port}/v1"
    rounds: list[dict[str, float]] = []
    try:
        with broker() as (bootstrap, desc):
            admin = AdminClient({"bootstrap.servers": bootstrap})
            for _ in range(a.rounds):  # interleaved: this machine's speed drifts
                rounds.append(_round(bootstrap, admin, base_url, a))
    finally:
        server.terminate()
        server.wait(10)
    bound = a.rpm / 60
    ceiling = a.max_in_flight / a.latency
    cmd = " ".join([".venv/bin/python", *sys.argv])
    print(f"LLM path: {a.keys} keys, test server +{a.latency * 1000:.0f} ms per call, "
          f"max_in_flight {a.max_in_flight}, {a.rounds} interleaved rounds, broker: {desc}")
    print(f"  {'run':<22} " + " ".join(f"{'round ' + str(i + 1):>9}" for i in range(a.rounds)))
    for label in rounds[0]:
        print(f"  {label:<22} " + " ".join(f"{r[label]:9.1f}" for r in rounds) + "  calls/s")
    vs_bound = [r["layer, rpm bound"] / bound for r in rounds]
    vs_direct = [r["layer, no bound"] / r["openai directly"] for r in rounds]
    print(f"  layer vs its limiter bound ({a.rpm} rpm = {bound:.1f}/s): "
          + ", ".join(f"{x:.2f}x" for x in vs_bound)
          + f"; median {statistics.median(vs_bound):.2f}x (target >= 0.9x)")
    print(f"  layer without a bound vs openai directly (both capped at {ceiling:.0f}/s by "
          "max_in_flight / latency): " + ", ".join(f"{x:.2f}x" for x in vs_direct)
          + f"; median {statistics.median(vs_direct):.2f}x")
    print(f"  command: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 {cmd}")


def _round(bootstrap: str, admin: AdminClient, base_url: str, a: Any) -> dict[str, float]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    results: dict[str, float] = {}
    topics = []
    client: dict[str, openai.AsyncOpenAI] = {}

    async def direct(event: PullRequestOpened, ctx: Context) -> Any:
        if "c" not in client:  # made on the agent's loop
            client["c"] = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
        return await client["c"].chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"summarise {event.title}"}])

    topics.append(_inputs(bootstrap, admin, a.keys))
    results["openai directly"] = _run(bootstrap, topics[-1], a.keys, a.max_in_flight, direct)
    for label, rpm in (("layer, rpm bound", a.rpm), ("layer, no bound", None)):
        llm = LLM(unique_name("bench"), kafka=kafka, settings=LLMSettings(
            base_url=base_url, api_key="bench", rpm=rpm, limiter_wait=timedelta(minutes=5)))

        async def via_layer(event: PullRequestOpened, ctx: Context, llm: LLM = llm) -> Any:
            return await llm.complete(f"summarise {event.title}", ctx=ctx)

        topics.append(_inputs(bootstrap, admin, a.keys))
        results[label] = _run(bootstrap, topics[-1], a.keys, a.max_in_flight, via_layer)
        llm.close()
    delete_topics(admin, topics)
    return results

if __name__ == "__main__":
    main()
