"""Exactly-once throughput with a memory write per event vs without (one transaction per step).

Two agents on the same input, run one after the other in interleaved rounds, both exactly-once:
``plain`` emits one output per input; ``memory`` also writes the input's entity to a store
(``ctx.store("seen").put``), so every input's transaction carries its output, its changelog
write and its offset. Printed: events/s of each per round, the per-round ratio memory / plain,
their median, and the command.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_eos_memory.py \\
        [--events 20000] [--partitions 4] [--keys 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _common import broker, drop_topics, generate, new_topic  # noqa: E402

from agentstream.config import KafkaSettings  # noqa: E402
from agentstream.events import PullRequestOpened  # noqa: E402
from agentstream.memory import StoreSpec  # noqa: E402
from agentstream.runtime import Agent, AgentRunner, AgentSettings, Context  # noqa: E402


def build(kind: str, src: str, out: str) -> Agent:
    stores = [StoreSpec("seen")] if kind == "memory" else []
    agent = Agent(f"bench-eosmem-{kind}-{uuid.uuid4().hex[:6]}",
                  emits_to={out: [PullRequestOpened]}, stores=stores)

    @agent.handler(PullRequestOpened, topic=src)
    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        if kind == "memory":
            ctx.store("seen").put(event.meta.subject, event.number)
        await ctx.emit(event.replace(meta=event.meta.replace(source="bench")), topic=out)

    return agent


async def run_one(kind: str, bootstrap: str, src: str, out: str, count: int) -> float:
    agent = build(kind, src, out)
    runner = AgentRunner(agent, settings=AgentSettings(mode="exactly-once", ops_port=None),
                         kafka=KafkaSettings(bootstrap_servers=bootstrap))
    task = asyncio.create_task(runner.run())
    started = None
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if task.done():
                task.result()
            try:
                stats = runner.stats()
            except RuntimeError:
                continue
            if started is None and stats.scheduler.accepted > 0:
                started = time.monotonic()
            if stats.scheduler.finished >= count:
                commits = stats.commits
                while runner.stats().commits <= commits and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)  # the transaction holding the last one committed
                break
        assert started is not None
        return count / (time.monotonic() - started)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    with broker() as (bootstrap, desc):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        src = new_topic(admin, "bench-eosmem-in", args.partitions)
        outs: list[str] = []
        generate(bootstrap, src, args.events, keys=args.keys)
        print(f"{desc}: {args.events} events, {args.partitions} partitions, {args.keys} keys",
              flush=True)
        ratios = []
        try:
            for r in range(1, args.rounds + 1):
                rates = {}
                for kind in ("plain", "memory"):
                    out = new_topic(admin, f"bench-eosmem-{kind}", args.partitions)
                    outs.append(out)
                    rates[kind] = asyncio.run(run_one(kind, bootstrap, src, out, args.events))
                ratio = rates["memory"] / rates["plain"]
                ratios.append(ratio)
                print(f"round {r}: plain {rates['plain']:.0f} ev/s, with a memory write "
                      f"{rates['memory']:.0f} ev/s, ratio {ratio:.2f}", flush=True)
        finally:
            drop_topics(admin, [src, *outs])
        print(f"exactly-once with a memory write per event / without: median "
              f"{statistics.median(ratios):.2f} (rounds {', '.join(f'{x:.2f}' for x in ratios)})")
        print("reproduce: KAFKA_BOOTSTRAP_SERVERS=... .venv/bin/python benchmarks/"
              f"bench_eos_memory.py --events {args.events} --partitions {args.partitions} "
              f"--keys {args.keys} --rounds {args.rounds}")


if __name__ == "__main__":
    main()
