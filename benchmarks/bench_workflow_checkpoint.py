"""Checkpoint overhead per workflow step: N runs x 3 trivial steps on a real broker.

Run:  KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 .venv/bin/python \\
          benchmarks/bench_workflow_checkpoint.py [--runs 200] [--concurrency 1] [--mode ...]

The steps do nothing, so the time from one step's return to the next step's start is the
engine's per-step overhead: encode the run's checkpoint, produce it to the compacted runs topic
and wait for the broker's acknowledgement (acks=all, idempotent; or one committed transaction in
``--mode exactly-once``), then schedule the next step. Also printed: the acknowledged-write time
alone (the engine's ``agentstream_workflow_checkpoint_seconds`` samples). Target: p50 < 10 ms.
Topics are unique per run of the benchmark and deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.testing import delete_topics, unique_name
from agentstream.workflow import StepContext, Workflow, WorkflowEngine, runs_topic
from agentstream.workflow import _engine as engine_module


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def describe(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"{name:<34} n={len(ms):<5} p50={percentile(ms, 0.5):7.2f} ms  "
        f"p99={percentile(ms, 0.99):7.2f} ms  mean={statistics.fmean(ms):7.2f} ms"
    )


async def bench(args: argparse.Namespace, settings: KafkaSettings) -> None:
    wf = Workflow(unique_name("bench-wf"))
    entered: dict[tuple[str, str], float] = {}
    returned: dict[tuple[str, str], float] = {}

    async def step(ctx: StepContext, inputs: Any) -> int:
        entered[ctx.run_id, ctx.step] = time.perf_counter()
        returned[ctx.run_id, ctx.step] = time.perf_counter()
        return 1

    for name in ("s1", "s2", "s3"):
        wf.step(name=name)(step)

    writes: list[float] = []
    original = engine_module.WORKFLOW_CHECKPOINT_LATENCY

    class Tap:
        def labels(self, *a: str) -> Tap:
            return self

        def observe(self, v: float) -> None:
            writes.append(v)
            original.labels(wf.name).observe(v)

    engine_module.WORKFLOW_CHECKPOINT_LATENCY = Tap()  # type: ignore[assignment]
    try:
        async with WorkflowEngine(wf, settings=settings, mode=args.mode, partitions=3) as engine:
            # Warm up connections and metadata so the first samples are not outliers.
            await engine.run({"i": -1}, run_id="warmup", timeout=timedelta(seconds=60))
            entered.clear()
            returned.clear()
            writes.clear()
            sem = asyncio.Semaphore(args.concurrency)

            async def one(i: int) -> None:
                async with sem:
                    await engine.run({"i": i}, run_id=f"run-{i}", timeout=timedelta(seconds=60))

            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(args.runs)))
            elapsed = time.perf_counter() - t0
    finally:
        engine_module.WORKFLOW_CHECKPOINT_LATENCY = original
        delete_topics(
            AdminClient(settings.client_config()),
            [runs_topic(wf.name), f"workflows.{wf.name}.events"],
        )

    gaps = [
        entered[run, nxt] - returned[run, prev]
        for run in {r for r, _ in entered}
        for prev, nxt in (("s1", "s2"), ("s2", "s3"))
    ]
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"broker: {settings.bootstrap_servers}  mode: {args.mode}  runs: {args.runs}  "
          f"concurrency: {args.concurrency}")
    print(describe("step overhead (return -> next start)", gaps))
    print(describe("acknowledged checkpoint write", writes))
    print(f"throughput: {args.runs / elapsed:.1f} runs/s, {3 * args.runs / elapsed:.1f} steps/s")
    print(f"target p50 < 10 ms: {'met' if percentile(gaps, 0.5) * 1000 < 10 else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--mode", choices=["at-least-once", "exactly-once"], default="at-least-once")
    args = ap.parse_args()
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and not os.environ.get(
        "AGENTSTREAM_BOOTSTRAP_SERVERS"
    ):
        print("set KAFKA_BOOTSTRAP_SERVERS (e.g. start one with `agentstream dev up`)")
        raise SystemExit(2)
    asyncio.run(bench(args, KafkaSettings()))


if __name__ == "__main__":
    main()
