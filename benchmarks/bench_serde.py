"""Encode+decode throughput of AgentStream's serdes vs bare fastavro on the same records.

Run:  .venv/bin/python benchmarks/bench_serde.py [--n 20000]

Bare fastavro = ``schemaless_writer``/``schemaless_reader`` on the ``to_avro()`` dicts with a
pre-parsed schema (no typed objects, no header). Ours = typed record -> bytes -> typed record.
No broker needed: the single-object serde uses an in-memory schema store (the hot path never
touches Kafka anyway), the registry serde confluent's ``mock://`` registry.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable

import fastavro

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.schemas import Record, decoding_schema, new_meta
from agentstream.serde import InMemorySchemaStore, RegistrySerde, SingleObjectSerde


def records(n: int) -> list[Record]:
    out: list[Record] = []
    for i in range(n):
        m = new_meta(PullRequestOpened, source="bench", subject=f"o/r#{i}")
        if i % 2:
            out.append(RiskDetected(meta=m, based_on=(m.id,), kind="stale", title="t",
                                    severity=RiskSeverity.LOW, summary="s" * 40))
        else:
            out.append(PullRequestOpened(meta=m, repo="o/r", number=i, title="Fix it",
                                         url="https://github.com/o/r/pull/1", author="octocat",
                                         base_branch="main", head_branch="fix", created_at=m.time,
                                         body="b" * 100, additions=10))
    return out


def timed(fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    recs = records(n)
    dicts = [(decoding_schema(type(r)), r.to_avro()) for r in recs]

    def bare() -> None:
        for schema, d in dicts:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, schema, d)
            buf.seek(0)
            fastavro.schemaless_reader(buf, schema, None)

    def ours(serde: SingleObjectSerde | RegistrySerde) -> Callable[[]]:
        def run() -> None:
            for r in recs:
                serde.decode("t", serde.encode("t", r))

        return run

    base = timed(bare)
    print(f"python {sys.version.split()[0]}, fastavro {fastavro.__version__}, {n} records")
    print(f"  bare fastavro (dicts)          {n / base:>10,.0f} rec/s")
    for name, serde in (
        ("single-object (typed records)", SingleObjectSerde(InMemorySchemaStore())),
        ("registry/mock (typed records)", RegistrySerde("mock://bench")),
    ):
        t = timed(ours(serde))
        print(f"  {name:<30} {n / t:>10,.0f} rec/s  ratio {base / t:.2f}x of bare")
    print("command: .venv/bin/python benchmarks/bench_serde.py --n", n)


if __name__ == "__main__":
    main()
