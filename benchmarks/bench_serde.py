"""Serde hot path vs bare fastavro, both wire formats (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_serde.py [--n 5000] [--repeat 5]

Records: ``--n`` distinct ``PullRequestOpened`` events with a full ``EventMeta`` (uuid ids,
timestamps, optional fields set and unset), the same for every contender.

* bare fastavro: ``schemaless_writer`` into a fresh ``BytesIO`` of the ``to_avro()`` dict
  (prepared before timing) then ``getvalue()``; ``schemaless_reader`` of those bytes back to a
  dict. The schema is parsed once before timing and is the one our serdes use (the contract
  schema with the ``uuid`` annotation dropped, same canonical form, ids stay ``str``), so both
  sides do the same Avro work.
* ours: ``serde.encode(topic, record)`` from the typed record (``to_avro`` included, header
  included) and ``serde.decode(topic, bytes)`` back to the typed record (header, schema lookup,
  checks and the typed object included). Single-object uses an in-memory schema store, registry
  mode confluent's ``mock://`` registry: neither touches the network once warm (the first
  encode/decode of a type, which registers or fetches the schema, happens before timing).

Each figure is the best of ``--repeat`` timed passes over all records (contenders interleaved,
so load drift hits them alike); ratio = our throughput / bare throughput (>= 0.8 is the target).
"""

from __future__ import annotations

import argparse
import gc
import io
import sys
import time
from collections.abc import Callable
from typing import Any

import fastavro

from agentstream.events import PullRequestOpened
from agentstream.schemas import Record, decoding_schema, new_meta
from agentstream.serde import InMemorySchemaStore, RegistrySerde, SingleObjectSerde

TOPIC = "events.code"


def records(n: int) -> list[PullRequestOpened]:
    out = []
    for i in range(n):
        m = new_meta(PullRequestOpened, source="connector.github", subject=f"octo/repo#{i}",
                     traceparent=f"00-{i:032x}-{i:016x}-01" if i % 2 else None)
        out.append(PullRequestOpened(
            meta=m, repo="octo/repo", number=i, title=f"Fix flaky test #{i}",
            url=f"https://github.com/octo/repo/pull/{i}", author="octocat",
            base_branch="main", head_branch=f"fix-{i}", draft=bool(i % 3 == 0),
            body=("Fixes the race in the consumer rebalance handler. " * 3) if i % 2 else None,
            created_at=m.time, additions=10 + i % 50, deletions=i % 7 or None,
        ))
    return out


def best_of(repeat: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best wall time of each function over ``repeat`` interleaved passes."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def bare_contender(dicts: list[dict[str, Any]], schema: Any) -> dict[str, Callable[[], object]]:
    def encode_one(d: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, d)
        return buf.getvalue()

    bodies = [encode_one(d) for d in dicts]
    assert fastavro.schemaless_reader(io.BytesIO(bodies[1]), schema, None) == dicts[1]

    def enc() -> None:
        for d in dicts:
            encode_one(d)

    def dec() -> None:
        for b in bodies:
            fastavro.schemaless_reader(io.BytesIO(b), schema, None)

    def both() -> None:
        for d in dicts:
            fastavro.schemaless_reader(io.BytesIO(encode_one(d)), schema, None)

    return {"enc": enc, "dec": dec, "both": both}


def serde_contender(serde: Any, recs: list[PullRequestOpened]) -> dict[str, Callable[[], object]]:
    framed = [serde.encode(TOPIC, r) for r in recs]  # warm: registers / caches the schema
    back: Record = serde.decode(TOPIC, framed[1])
    assert back == recs[1]
    # Same Avro body as bare fastavro writes, behind the format's header.
    expected = io.BytesIO()
    fastavro.schemaless_writer(expected, decoding_schema(PullRequestOpened), recs[1].to_avro())
    assert framed[1].endswith(expected.getvalue())

    def enc() -> None:
        for r in recs:
            serde.encode(TOPIC, r)

    def dec() -> None:
        for b in framed:
            serde.decode(TOPIC, b)

    def both() -> None:
        for r in recs:
            serde.decode(TOPIC, serde.encode(TOPIC, r))

    return {"enc": enc, "dec": dec, "both": both}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n = args.n
    recs = records(n)
    schema = decoding_schema(PullRequestOpened)  # parsed once, outside the timings
    contenders = {
        "bare": bare_contender([r.to_avro() for r in recs], schema),
        "single-object": serde_contender(SingleObjectSerde(InMemorySchemaStore()), recs),
        "registry (mock)": serde_contender(RegistrySerde(f"mock://bench-{time.time_ns()}"), recs),
    }
    t = best_of(args.repeat, {
        f"{name}.{k}": fn for name, fns in contenders.items() for k, fn in fns.items()
    })
    codec = sys.modules.get("agentstream.serde._codec")
    fast = getattr(codec, "FAST_PATH", None)
    print(f"python {sys.version.split()[0]}, fastavro {fastavro.__version__}"
          + ("" if fast is None else f" (compiled write_data/_read_data path: {fast})")
          + f"; {n} PullRequestOpened records with meta; best of {args.repeat} passes")
    print(f"  {'':<32}{'encode rec/s':>14}{'decode rec/s':>14}{'enc+dec rec/s':>15}"
          f"{'ratio enc':>11}{'dec':>7}{'enc+dec':>9}")
    for name in contenders:
        label = "bare fastavro (dicts)" if name == "bare" else f"{name} (typed records)"
        rates = [n / t[f"{name}.{k}"] for k in ("enc", "dec", "both")]
        ratios = "" if name == "bare" else "".join(
            f"{t[f'bare.{k}'] / t[f'{name}.{k}']:>{w}.2f}x"
            for k, w in (("enc", 10), ("dec", 6), ("both", 8))
        )
        print(f"  {label:<32}{rates[0]:>14,.0f}{rates[1]:>14,.0f}{rates[2]:>15,.0f}{ratios}")
    print(f"command: .venv/bin/python benchmarks/bench_serde.py --n {n} --repeat {args.repeat}")


if __name__ == "__main__":
    main()
