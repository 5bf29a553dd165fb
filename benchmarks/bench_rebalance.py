"""Benchmark: a second agent process joins a running agent's group — classic vs KIP-848.

Per round and group protocol (``AGENTSTREAM_AGENT_GROUP_PROTOCOL=classic|consumer``, rounds
interleaved): a stream of ``PullRequestOpened`` flows into a 4-partition topic at ``--rate``
events/s; a first ``agentstream run`` process handles it; once it is steady a second process is
started in the same group. Figures per round:

- ``spawn→first``: from starting the second process to its first handled record (what an
  operator scaling out sees: interpreter start and imports included),
- ``import→first``: from the agent module's import in that process to its first handled record
  (runner start-up + group join + first fetch; the protocol's share is here),
- ``first's gap``: the longest pause in the first process's handling while the second joins
  (classic's eager rebalance stops every member; KIP-848 moves only the partitions that change).

Under KIP-848 a member learns of a new target assignment on its next heartbeat, every
``group.consumer.heartbeat.interval.ms`` (broker default and minimum 5 s); ``--broker-heartbeat-ms``
starts a broker of its own with that interval (and its minimum) lowered, to show the knob.

The agent is this module's ``agent`` (configured by ``REB_*`` variables in the children). Broker:
``KAFKA_BOOTSTRAP_SERVERS``, else a local one started for the run.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python benchmarks/bench_rebalance.py --rounds 3
    .venv/bin/python benchmarks/bench_rebalance.py --rounds 3 --broker-heartbeat-ms 1000
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, Context
from agentstream.schemas import new_meta
from agentstream.serde import make_serde

_IMPORTED = time.time()
_LOG = os.environ.get("REB_LOG")

agent = Agent(os.environ.get("REB_AGENT", "bench-rebalance"))


@agent.handler(PullRequestOpened, topic=os.environ.get("REB_TOPIC", "bench.rebalance"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    if _LOG:
        with open(_LOG, "a") as f:  # one line per record: time handled
            f.write(f"{time.time():.6f}\n")


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROTOCOLS = ("classic", "consumer")


def _event(i: int) -> PullRequestOpened:
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="bench", subject=f"k{i % 64}"), repo="o/r",
        number=i, title="t", url=f"https://example.com/{i}", author="a", base_branch="main",
        head_branch="f", created_at=datetime.now(UTC),
    )


class Stream(threading.Thread):
    """Produces ``rate`` events/s to ``topic`` until stopped."""

    def __init__(self, bootstrap: str, topic: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.rate = bootstrap, topic, rate
        self.stop = threading.Event()

    def run(self) -> None:
        serde = make_serde(KafkaSettings(bootstrap_servers=self.bootstrap))
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        i, start = 0, time.monotonic()
        while not self.stop.is_set():
            event = _event(i)
            producer.produce(self.topic, key=event.meta.subject.encode(),
                             value=serde.encode(self.topic, event))
            i += 1
            ahead = start + i / self.rate - time.monotonic()
            if ahead > 0:
                self.stop.wait(ahead)
            producer.poll(0)
        producer.flush(30)


def _spawn(bootstrap: str, protocol: str, topic: str, group: str, log: Path) -> subprocess.Popen[
        bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap, "AGENTSTREAM_AGENT_OPS_PORT": "-1",
        "AGENTSTREAM_AGENT_GROUP_PROTOCOL": protocol, "REB_TOPIC": topic, "REB_AGENT": group,
        "REB_LOG": str(log), "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}",
    }
    err = open(log.with_suffix(".stderr"), "ab")  # noqa: SIM115 - the child owns it
    # The import time goes first into the log: the child writes it when it loads this module.
    return subprocess.Popen([sys.executable, "-c", _CHILD, "bench_rebalance:agent"], cwd=ROOT,
                            env=env, stdout=err, stderr=err)


# ``agentstream run`` after noting when the agent module was imported (``import`` line).
_CHILD = (
    "import sys, bench_rebalance as b, pathlib\n"
    "pathlib.Path(b._LOG + '.import').write_text(f'{b._IMPORTED:.6f}')\n"
    "from agentstream.cli import main\n"
    "sys.argv = ['agentstream', 'run', sys.argv[1]]\n"
    "main()\n"
)


def _times(log: Path) -> list[float]:
    if not log.exists():
        return []
    return [float(x) for x in log.read_text().split()]


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.02)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def one_round(bootstrap: str, protocol: str, rate: float, work: Path, n: int) -> dict[str, float]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    from agentstream.testing import create_topic, delete_topics, unique_name  # noqa: PLC0415

    topic = create_topic(admin, unique_name("bench-reb"), partitions=4)
    group = f"bench-reb-{protocol}-{n}-{topic[-6:]}"
    log1, log2 = work / f"{group}.1.log", work / f"{group}.2.log"
    stream = Stream(bootstrap, topic, rate)
    stream.start()
    first = _spawn(bootstrap, protocol, topic, group, log1)
    second = None
    try:
        _wait(lambda: len(_times(log1)) >= rate * 2, 90, "the first process handling steadily")
        spawned = time.time()
        second = _spawn(bootstrap, protocol, topic, group, log2)
        _wait(lambda: bool(_times(log2)), 90, "the second process's first record")
        first_two = _times(log2)[0]
        imported = float(Path(str(log2) + ".import").read_text())
        time.sleep(3)  # let both settle, so the first's gap is measured over the whole join
        ones = [t for t in _times(log1) if spawned - 1 <= t <= first_two + 3]
        gap = max((b - a for a, b in itertools.pairwise(ones)), default=float("nan"))
    finally:
        stream.stop.set()
        for proc in (second, first):
            if proc is not None:
                _stop(proc)
        stream.join(30)
        made = [t for t in admin.list_topics(timeout=30).topics if group in t]  # dlq, dedupe
        delete_topics(admin, [topic, *made])
    return {"spawn": first_two - spawned, "import": first_two - imported, "gap": gap}


@contextmanager
def _own_broker(heartbeat_ms: int) -> Iterator[tuple[str, str]]:
    from agentstream.localkafka import LocalBroker, free_port  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="agentstream-bench-") as tmp:
        hb = str(heartbeat_ms)
        local = LocalBroker(Path(tmp) / "broker", port=free_port(), controller_port=free_port(),
                            extra_config={"group.consumer.heartbeat.interval.ms": hb,
                                          "group.consumer.min.heartbeat.interval.ms": hb})
        local.start()
        try:
            yield local.bootstrap_servers, (f"local Apache Kafka {local.version}, "
                                            f"group.consumer.heartbeat.interval.ms={hb}")
        finally:
            local.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds per protocol (interleaved)")
    ap.add_argument("--rate", type=float, default=200.0, help="events/s into the topic")
    ap.add_argument("--broker-heartbeat-ms", type=int, default=None,
                    help="start a local broker with group.consumer.heartbeat.interval.ms (and its "
                    "minimum) set to this, instead of using KAFKA_BOOTSTRAP_SERVERS")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep the processes' logs (handled times, stderr) in this directory")
    opts = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from _common import broker  # noqa: PLC0415

    args = ["--rounds", str(opts.rounds), "--rate", f"{opts.rate:g}"]
    if opts.broker_heartbeat_ms:
        args += ["--broker-heartbeat-ms", str(opts.broker_heartbeat_ms)]
    cmd = ("" if opts.broker_heartbeat_ms else "KAFKA_BOOTSTRAP_SERVERS=<broker> ") + \
        ".venv/bin/python benchmarks/bench_rebalance.py " + shlex.join(args)
    results: dict[str, list[dict[str, float]]] = {p: [] for p in PROTOCOLS}
    where_from = (_own_broker(opts.broker_heartbeat_ms) if opts.broker_heartbeat_ms
                  else broker())
    with where_from as (bootstrap, where), tempfile.TemporaryDirectory() as scratch:
        tmp = opts.keep or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        print(f"broker: {where}; a second process joins a 4-partition group, {opts.rate:g} ev/s")
        for n in range(opts.rounds):
            for protocol in PROTOCOLS:
                r = one_round(bootstrap, protocol, opts.rate, Path(tmp), n)
                results[protocol].append(r)
                print(f"round {n + 1} {protocol:8s} spawn→first {r['spawn']:6.2f}s  "
                      f"import→first {r['import']:6.2f}s  first's gap {r['gap']:6.2f}s",
                      flush=True)
    print("\n| protocol | spawn→first (median s) | import→first (median s) | first's longest gap "
          "(median s) |")
    print("|---|---|---|---|")
    for protocol in PROTOCOLS:
        rs = results[protocol]
        print(f"| {protocol} | {statistics.median(r['spawn'] for r in rs):.2f} | "
              f"{statistics.median(r['import'] for r in rs):.2f} | "
              f"{statistics.median(r['gap'] for r in rs):.2f} |")
    ratios = [c["import"] / k["import"] for k, c in zip(results["classic"], results["consumer"],
                                                        strict=True)]
    print(f"\nimport→first, consumer/classic per round: {', '.join(f'{x:.2f}' for x in ratios)}"
          f" (median {statistics.median(ratios):.2f})")
    print(f"command: {cmd}")


if __name__ == "__main__":
    main()
