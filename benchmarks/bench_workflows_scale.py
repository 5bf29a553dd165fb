"""Workflow throughput with 1, 2 and 3 processes of one agent on one broker (runs/s, steps/s).

Run:  KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python \\
          benchmarks/bench_workflows_scale.py [--runs 3000] [--processes 1,2,3] \\
          [--mode exactly-once] [--step-ms 0] [--partitions 6]

For each process count: fresh topics and a fresh agent whose workflow has three steps (each
sleeps ``--step-ms``: 0 measures the platform's own cost, a few ms stands for an outside call),
started by ``PullRequestOpened`` triggers on a topic of ``--partitions`` partitions. The agent's
processes are started as children and the benchmark waits until the consumer group is stable
with every process a member; then ``--runs`` triggers are produced (spread over the partitions)
and the clock runs from the first trigger produced to the last completion event read
(read_committed). Every run's completion is checked to arrive exactly once. Without
KAFKA_BOOTSTRAP_SERVERS a local broker is started. With ``--child`` this file is the agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))


def child() -> None:
    """One process of the benchmark's agent (configured by BENCH_* environment variables)."""
    from agentstream.events import PullRequestOpened  # noqa: PLC0415
    from agentstream.runtime import Agent, run_agent  # noqa: PLC0415
    from agentstream.workflow import StepContext, Workflow  # noqa: PLC0415

    pause = float(os.environ["BENCH_STEP_MS"]) / 1000
    wf = Workflow(os.environ["BENCH_WORKFLOW"])

    async def step(ctx: StepContext, inputs: Any) -> int:
        if pause:
            await asyncio.sleep(pause)
        return ctx.attempt

    for name in ("fetch", "judge", "report"):
        wf.step(name=name)(step)
    agent = Agent(os.environ["BENCH_AGENT"], version="1.0.0")
    agent.workflow(wf, trigger=PullRequestOpened, topic=os.environ["BENCH_IN"],
                   completion_topic=os.environ["BENCH_DONE"])
    run_agent(agent)


def _group_stable(admin: AdminClient, group: str, members: int) -> bool:
    try:
        [desc] = admin.describe_consumer_groups([group])[group].result(timeout=10),
    except Exception:
        return False
    return str(desc.state).endswith("STABLE") and len(desc.members) == members


def _agent_env(bootstrap: str, args: argparse.Namespace, names: dict[str, str]
               ) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")},
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap, "AGENTSTREAM_AGENT_OPS_PORT": "-1",
        "AGENTSTREAM_AGENT_MODE": args.mode,
        "AGENTSTREAM_LIBRDKAFKA": json.dumps({"session.timeout.ms": "6000",
                                              "heartbeat.interval.ms": "500"}),
        "BENCH_STEP_MS": str(args.step_ms), "PYTHONPATH": str(ROOT),
        **{f"BENCH_{k.upper()}": v for k, v in names.items()},
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


def _triggers(bootstrap: str, topic: str, runs: int) -> list[bytes]:
    from agentstream.config import KafkaSettings  # noqa: PLC0415
    from agentstream.events import PullRequestOpened  # noqa: PLC0415
    from agentstream.schemas import new_meta  # noqa: PLC0415
    from agentstream.serde import make_serde  # noqa: PLC0415

    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    return [serde.encode(topic, PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="bench", subject=f"octo/repo#{n}"),
        repo="octo/repo", number=n, title="t", url=f"https://example.com/{n}", author="a",
        base_branch="main", head_branch="f", created_at=datetime.now(UTC),
    )) for n in range(runs)]


def _read_completions(reader: Consumer, seen: Counter[str], *, until: int, timeout: float,
                      log: str) -> None:
    deadline = time.monotonic() + timeout
    while len(seen) < until:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(seen)}/{until} runs completed in {timeout}s; see {log}")
        for m in reader.consume(1000, timeout=0.2):
            if m.error() is None:
                seen[json.loads(m.value())["run_id"]] += 1
            elif m.error().code() != KafkaError._PARTITION_EOF:
                raise SystemExit(str(m.error()))


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def measure(bootstrap: str, admin: AdminClient, processes: int, args: argparse.Namespace
            ) -> dict[str, Any]:
    from _common import drop_topics, new_topic  # noqa: PLC0415

    from agentstream.testing import unique_name  # noqa: PLC0415
    from agentstream.workflow import runs_topic  # noqa: PLC0415

    trig = new_topic(admin, "bench-wf-in", args.partitions)
    done = new_topic(admin, "bench-wf-done", args.partitions)
    agent, workflow = unique_name("bench-wfs"), unique_name("bench-wfs")
    env = _agent_env(bootstrap, args,
                     {"agent": agent, "workflow": workflow, "in": trig, "done": done})
    log_path = Path(tempfile.gettempdir()) / f"bench_workflows_scale.{processes}.log"
    log = log_path.open("wb")
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [subprocess.Popen([sys.executable, __file__, "--child"], env=env, cwd=ROOT,
                              stdout=log, stderr=log) for _ in range(processes)]
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("bench-read"),
                       "isolation.level": "read_committed", "enable.auto.commit": False})
    seen: Counter[str] = Counter()
    try:
        deadline = time.monotonic() + 120
        while not _group_stable(admin, agent, processes):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the agent's {processes} process(es) did not form a stable "
                                 f"group; see {log_path}")
            time.sleep(0.5)
        reader.assign([TopicPartition(done, p, 0) for p in range(args.partitions)])
        values = _triggers(bootstrap, trig, args.runs)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        t0 = time.perf_counter()
        for n, v in enumerate(values):
            producer.produce(trig, value=v, key=f"octo/repo#{n}".encode(),
                             partition=n % args.partitions)
        producer.flush(60)
        _read_completions(reader, seen, until=args.runs, timeout=args.timeout, log=str(log_path))
        elapsed = time.perf_counter() - t0
        for m in reader.consume(1000, timeout=2):  # a duplicate would show up here
            if m.error() is None:
                seen[json.loads(m.value())["run_id"]] += 1
    finally:
        reader.close()
        _stop(procs)
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        log.close()
        drop_topics(admin, [trig, done, runs_topic(workflow), f"workflows.{workflow}.events"])
    return {
        "processes": processes, "runs": args.runs, "seconds": elapsed,
        "runs_per_s": args.runs / elapsed, "steps_per_s": 3 * args.runs / elapsed,
        "duplicates": sum(c - 1 for c in seen.values()),
        # CPU of the agent processes over their whole life (start, runs, stop).
        "agent_cpu_s": (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--mode", choices=["at-least-once", "exactly-once"],
                        default="exactly-once")
    parser.add_argument("--step-ms", type=float, default=0.0)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    from _common import broker, machine_facts  # noqa: PLC0415

    command = " ".join([".venv/bin/python", "benchmarks/bench_workflows_scale.py",
                        *sys.argv[1:]])
    with broker() as (bootstrap, where):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        rows = [measure(bootstrap, admin, int(n), args) for n in args.processes.split(",")]
    print(f"workflow throughput, {args.runs} runs x 3 steps, mode {args.mode}, step work "
          f"{args.step_ms:g} ms, {args.partitions} partitions; {where}")
    print(f"machine: {machine_facts(None)}")
    base = rows[0]["runs_per_s"]
    for r in rows:
        ratio = r["runs_per_s"] / base
        print(f"  {r['processes']} process(es): {r['runs_per_s']:8.1f} runs/s "
              f"{r['steps_per_s']:8.1f} steps/s  ({r['seconds']:.1f} s, x{ratio:.2f} vs "
              f"{rows[0]['processes']}; agents' CPU {r['agent_cpu_s']:.1f} s; duplicate "
              f"completions: {r['duplicates']})")
    print(f"command: KAFKA_BOOTSTRAP_SERVERS={os.environ.get('KAFKA_BOOTSTRAP_SERVERS', '')} "
          f"{command}")



if __name__ == "__main__":
    main()
