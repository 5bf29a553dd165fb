"""Retrieval: top-10 search latency and upsert rate of each embedded Qdrant engine.

Run:  .venv/bin/python benchmarks/bench_retrieval.py [--vectors 100000] [--dims 384]
          [--queries 500] [--engines edge,local]

For each engine (``edge`` = qdrant-edge-py, ``local`` = qdrant-client's local mode, both on disk
in a temporary directory): upsert ``--vectors`` random unit vectors with AgentStream's payload
(team, repository, person, source, time) in batches of 1,000, ``store.optimize()`` (edge builds
its HNSW index there; ``--no-optimize`` skips it), then time ``--queries`` top-10
searches, half of them with a payload filter (person + time range). Printed: upsert vectors/s,
search p50/p99 in ms (target p99 < 10 ms). One process, one thread, figures of one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from agentstream.retrieval import Document, RetrievalSettings, RetrievalStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PEOPLE = [f"person{i}" for i in range(50)]


def _docs(start: int, n: int) -> list[Document]:
    return [Document(event_id=str(uuid.UUID(int=i + 1)), text=f"event {i}",
                     time=T0 + timedelta(minutes=i), source=("slack", "github", "calendar")[i % 3],
                     team=f"team{i % 5}", repository=f"octo/repo{i % 20}",
                     people=(PEOPLE[i % 50],)) for i in range(start, start + n)]


def _bench(
    engine: str, vectors: np.ndarray, queries: np.ndarray, tmp: Path, *, optimize: bool
) -> dict[str, float]:
    store = RetrievalStore("bench", engine=engine,  # type: ignore[arg-type]
                           settings=RetrievalSettings(path=tmp / engine,
                                                      dimensions=vectors.shape[1]))
    n = len(vectors)
    started = time.perf_counter()
    for i in range(0, n, 1000):
        store.upsert(_docs(i, min(1000, n - i)), vectors[i : i + 1000].tolist())
    upsert_s = time.perf_counter() - started
    if optimize:
        store.optimize()  # edge: builds its HNSW index now (no background optimizer)
    index_s = time.perf_counter() - started - upsert_s
    plain, filtered = [], []
    for j, q in enumerate(queries):
        qv = q.tolist()
        t = time.perf_counter()
        if j % 2:
            store.search(qv, limit=10, person=PEOPLE[j % 50], since=T0,
                         until=T0 + timedelta(minutes=n // 2))
            filtered.append(time.perf_counter() - t)
        else:
            store.search(qv, limit=10)
            plain.append(time.perf_counter() - t)
    store.close()
    both = plain + filtered

    def pct(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000

    return {"upsert/s": n / upsert_s, "index s": index_s, "p50": pct(both, 0.5),
            "p99": pct(both, 0.99), "plain p50": pct(plain, 0.5), "plain p99": pct(plain, 0.99),
            "filtered p50": pct(filtered, 0.5), "filtered p99": pct(filtered, 0.99)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--vectors", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=384)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--engines", default="edge,local")
    p.add_argument("--no-optimize", action="store_true",
                   help="search edge's segments unindexed (no store.optimize() after the load)")
    p.add_argument("--local-queries", type=int, default=60,
                   help="searches for the local mode (it scans every vector: ~1 s each at 100k)")
    a = p.parse_args()
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((a.vectors, a.dims), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((a.queries, a.dims), dtype=np.float32)
    results = {}
    with tempfile.TemporaryDirectory(prefix="agentstream-bench-qdrant-") as tmp:
        for engine in a.engines.split(","):
            qs = queries[: a.local_queries] if engine == "local" else queries
            results[engine] = _bench(engine, vectors, qs, Path(tmp), optimize=not a.no_optimize)
    print(f"Retrieval: {a.vectors} x {a.dims} vectors, top-10 searches ({a.queries} on edge, "
          f"{a.local_queries} on local; half filtered by person + time range), embedded on "
          "disk, one thread")
    print(f"  {'engine':<8} {'upsert/s':>9} {'index s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'plain p50/p99':>14} {'filtered p50/p99':>17}")
    for engine, r in results.items():
        print(f"  {engine:<8} {r['upsert/s']:9.0f} {r['index s']:8.1f} {r['p50']:7.2f} "
              f"{r['p99']:7.2f} {r['plain p50']:7.2f}/{r['plain p99']:<6.2f} "
              f"{r['filtered p50']:8.2f}/{r['filtered p99']:<8.2f}")
    if {"edge", "local"} <= set(results):
        edge, local = results["edge"], results["local"]
        print(f"  edge vs local: search p50 {local['p50'] / edge['p50']:.1f}x faster, "
              f"upsert {edge['upsert/s'] / local['upsert/s']:.1f}x")
    print(f"  target: p99 < 10 ms; command: .venv/bin/python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
