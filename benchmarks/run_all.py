"""Run every peer benchmark on one broker with the same data; print and write ``RESULTS.md``.

Scenarios (see ``docs/benchmarks.md``):

1. passthrough — decode Avro → handler → encode → produce, at-least-once: a bare confluent-kafka
   loop (the limit), AgentStream, faust-streaming, quixstreams; ``--rounds`` interleaved rounds
   (default 3), reported as per-round ratios and their median.
2. slow handler — 200 ms sleep standing in for an LLM call, 1,000 keys: AgentStream throughput
   against the bound ``max_in_flight / 0.2 s`` for several ``max_in_flight``, order violations
   counted; peers for contrast (time-capped, they do ~5 events/s).
3. exactly-once / at-least-once throughput ratio per contender.
4. components — each module's own ``benchmarks/bench_*.py`` (serde, memory restore, workflow
   checkpoints) with its default sizes, output appended to RESULTS.md.

Contenders run one after another as subprocesses, each under its own consumer group and output
topic; quixstreams runs from its own venv (``benchmarks/.venv-quix``), created here when missing.

    python benchmarks/run_all.py            # full run (≈ 6-7 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # smaller sizes (≈ 2-3 minutes)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BENCH_DIR,
    Outcome,
    broker,
    drop_topics,
    generate,
    machine_facts,
    new_topic,
    run_contender,
    schema_file,
    verify,
)

QUIX_VENV = BENCH_DIR / ".venv-quix"
QUIX_REQUIREMENTS = ["quixstreams==3.28.*", "fastavro>=1.9"]
ALL_CONTENDERS = ("bare", "bare-typed", "agentstream", "faust", "quix")
_COMPONENT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Contender:
    name: str
    python: str
    script: Path


def ensure_quix_venv() -> str | None:
    """The quix venv's python, creating the venv when missing; None (with a note) if it fails."""
    python = QUIX_VENV / "bin" / "python"
    stamp = QUIX_VENV / ".installed"
    if stamp.exists() and python.exists():
        return str(python)
    print(f"setting up {QUIX_VENV} ({' '.join(QUIX_REQUIREMENTS)}) ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    try:
        subprocess.run([base, "-m", "venv", str(QUIX_VENV)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *QUIX_REQUIREMENTS],
                       check=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  quixstreams venv could not be set up: {exc}; quix is skipped", flush=True)
        return None
    stamp.write_text(" ".join(QUIX_REQUIREMENTS))
    return str(python)


def contenders(names: list[str], quix_python: str | None) -> dict[str, Contender]:
    peers = BENCH_DIR / "peers"
    found = {
        "bare": Contender("bare-confluent", sys.executable, peers / "bare_confluent.py"),
        "bare-typed": Contender("bare-typed", sys.executable, BENCH_DIR / "bare_typed.py"),
        "agentstream": Contender("agentstream", sys.executable,
                                 BENCH_DIR / "agentstream_passthrough.py"),
        "faust": Contender("faust-streaming", sys.executable, peers / "faust_passthrough.py"),
    }
    if quix_python:
        found["quix"] = Contender("quixstreams", quix_python, peers / "quix_passthrough.py")
    return {n: found[n] for n in names if n in found}


class Harness:
    """One broker, one schema file, the options; runs a contender and verifies its output."""

    def __init__(self, bootstrap: str, admin: AdminClient, schema: Path, opts: Any) -> None:
        self.bootstrap = bootstrap
        self.admin = admin
        self.schema = schema
        self.opts = opts
        self.topics: list[str] = []

    def input_topic(self, count: int) -> str:
        topic = new_topic(self.admin, "bench-in", self.opts.partitions)
        self.topics.append(topic)
        t0 = time.monotonic()
        size = generate(self.bootstrap, topic, count, keys=self.opts.keys)
        print(f"  input {topic}: {count} events of {size} bytes, {self.opts.keys} keys, "
              f"{self.opts.partitions} partitions (written in {time.monotonic() - t0:.1f}s)",
              flush=True)
        return topic

    def run(self, scenario: str, c: Contender, src: str, count: int, *, mode: str = "at_least_once",
            slow_ms: float = 0.0, max_in_flight: int = 0, max_seconds: float) -> Outcome:
        out = new_topic(self.admin, "bench-out", self.opts.partitions)
        self.topics.append(out)
        cmd = [c.python, str(c.script), "--bootstrap", self.bootstrap, "--input", src,
               "--output", out, "--count", str(count), "--schema", str(self.schema),
               "--group", out, "--mode", mode, "--slow-ms", str(slow_ms),
               "--max-seconds", str(max_seconds), "--max-in-flight", str(max_in_flight)]
        result, tail = run_contender(cmd, timeout=max_seconds + 180)
        if result is None:
            print(f"  {c.name:16s} {mode:14s} FAILED: {tail.splitlines()[-1] if tail else ''}",
                  flush=True)
            return Outcome(scenario, c.name, mode, 0.0, 0, 0.0, note=f"failed: {tail[-600:]}")
        processed = int(result["processed"])
        capped = processed < count
        verdict = verify(self.bootstrap, out, expected=processed if capped else count,
                         keys=self.opts.keys)
        outcome = Outcome(scenario, c.name, mode, float(result["events_per_s"]), processed,
                          float(result["seconds"]), verdict=verdict,
                          note=f"time-capped at {max_seconds:.0f}s" if capped else "",
                          extra={k: v for k, v in result.items()
                                 if k not in {"contender", "mode", "processed", "seconds",
                                              "events_per_s"}})
        v = verdict
        print(f"  {c.name:16s} {mode:14s} {outcome.events_per_s:10.1f} ev/s  "
              f"({processed} in {outcome.seconds:.2f}s; out {v.messages}, missing {v.missing}, "
              f"dup {v.duplicates}, order violations {v.order_violations}) {outcome.note}",
              flush=True)
        return outcome


def passthrough(h: Harness, cs: dict[str, Contender]) -> tuple[str, list[list[Outcome]]]:
    """Every contender once per round, rounds interleaved, all on the same input topic.

    On a shared machine one contender's run can land in a slow minute; interleaved rounds let
    the report take per-round ratios (contenders measured side by side) and their median.
    """
    rounds = h.opts.rounds
    print(f"\n== passthrough, at-least-once, {h.opts.events} events, {rounds} round(s)",
          flush=True)
    src = h.input_topic(h.opts.events)
    per_round: list[list[Outcome]] = []
    for n in range(rounds):
        if rounds > 1:
            print(f"  round {n + 1}/{rounds}", flush=True)
        per_round.append([h.run("passthrough", c, src, h.opts.events,
                                max_seconds=h.opts.max_seconds) for c in cs.values()])
    return src, per_round


def median_outcomes(per_round: list[list[Outcome]]) -> list[Outcome]:
    """Per contender, its median round (lower median for an even count); the verdict columns
    add up every round's missing events, duplicates and order violations."""
    out = []
    for runs in zip(*per_round, strict=True):
        ranked = sorted(runs, key=lambda r: r.events_per_s)
        mid = ranked[(len(ranked) - 1) // 2]
        verdicts = [r.verdict for r in runs if r.verdict is not None]
        verdict = mid.verdict
        if verdicts and verdict is not None:
            verdict = dataclasses.replace(
                verdict,
                missing=sum(v.missing for v in verdicts),
                duplicates=sum(v.duplicates for v in verdicts),
                order_violations=sum(v.order_violations for v in verdicts),
            )
        note = mid.note
        if len(runs) > 1:
            each = " / ".join(f"{r.events_per_s:.0f}" for r in runs)
            note = f"median of {len(runs)} rounds: {each}" + (f"; {note}" if note else "")
        out.append(dataclasses.replace(mid, verdict=verdict, note=note))
    return out


def round_ratios(per_round: list[list[Outcome]]) -> tuple[list[float], list[float]]:
    """Per round: AgentStream / bare loop, and AgentStream / best peer (where measured)."""
    vs_bare, vs_peer = [], []
    for runs in per_round:
        eps = {r.contender: r.events_per_s for r in runs if r.events_per_s > 0}
        ours = eps.get("agentstream")
        peers = [v for k, v in eps.items() if k in {"faust-streaming", "quixstreams"}]
        if ours and eps.get("bare-confluent"):
            vs_bare.append(ours / eps["bare-confluent"])
        if ours and peers:
            vs_peer.append(ours / max(peers))
    return vs_bare, vs_peer


def ratios_to(per_round: list[list[Outcome]], other: str) -> list[float]:
    """Per round: AgentStream / ``other`` (rounds where both ran)."""
    out = []
    for runs in per_round:
        eps = {r.contender: r.events_per_s for r in runs if r.events_per_s > 0}
        if eps.get("agentstream") and eps.get(other):
            out.append(eps["agentstream"] / eps[other])
    return out


def slow_handler(h: Harness, cs: dict[str, Contender]) -> list[Outcome]:
    o = h.opts
    print(f"\n== slow handler: {o.slow_ms:.0f} ms sleep, {o.keys} keys", flush=True)
    runs: list[Outcome] = []
    first_src = None
    for mif in o.slow_in_flight:
        bound = mif / (o.slow_ms / 1000)
        count = max(int(bound * o.slow_seconds), mif * 2)
        print(f" max_in_flight {mif}: bound {bound:.0f} ev/s", flush=True)
        src = h.input_topic(count)
        first_src = first_src or (src, count)
        if "agentstream" in cs:
            r = h.run("slow", cs["agentstream"], src, count, slow_ms=o.slow_ms, max_in_flight=mif,
                      max_seconds=o.slow_seconds * 4)
            r.extra["bound"] = bound
            runs.append(r)
    if first_src is None:
        return runs
    src, count = first_src
    mif = o.slow_in_flight[0]
    print(f" peers for contrast (capped at {o.peer_cap_seconds:.0f}s)", flush=True)
    for key in ("faust", "quix"):  # a bare loop has no concurrency: 5 events/s by construction
        if key in cs:
            runs.append(h.run("slow", cs[key], src, count, slow_ms=o.slow_ms,
                              max_seconds=o.peer_cap_seconds))
    if "faust" in cs:
        # Faust's own concurrency knob: more agent instances on one stream, order not kept.
        r = h.run("slow", cs["faust"], src, count, slow_ms=o.slow_ms, max_in_flight=mif,
                  max_seconds=o.peer_cap_seconds)
        r.note = (r.note + f"; concurrency={mif}").lstrip("; ")
        r.extra["bound"] = mif / (o.slow_ms / 1000)
        runs.append(r)
    return runs


def exactly_once(h: Harness, cs: dict[str, Contender], src: str) -> list[Outcome]:
    print(f"\n== exactly-once, {h.opts.events} events (same input as passthrough)", flush=True)
    return [h.run("eos", c, src, h.opts.events, mode="exactly_once",
                  max_seconds=h.opts.max_seconds) for c in cs.values()]


def components(bootstrap: str) -> list[tuple[str, str]]:
    """Run the component benchmarks (``benchmarks/bench_*.py``, owned by each module) with their
    default sizes on the same broker; return ``(command, output)`` for RESULTS.md."""
    out: list[tuple[str, str]] = []
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        cmd = [sys.executable, str(script)]
        shown = f"KAFKA_BOOTSTRAP_SERVERS={bootstrap} python benchmarks/{script.name}"
        print(f"\n== {script.name}", flush=True)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_COMPONENT_TIMEOUT,
                                  env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
                                  check=False)
            text = proc.stdout.strip()
            if proc.returncode != 0:
                text += f"\n[exit {proc.returncode}]\n" + "\n".join(
                    proc.stderr.strip().splitlines()[-15:])
        except subprocess.TimeoutExpired:
            text = f"[timed out after {_COMPONENT_TIMEOUT:.0f}s]"
        print(text, flush=True)
        out.append((shown, text))
    return out


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def _verdict_cols(r: Outcome) -> str:
    v = r.verdict
    if v is None:
        return "- | - | -"
    return f"{v.missing} | {v.duplicates} | {v.order_violations}"


def report(per_round: list[list[Outcome]], slow_runs: list[Outcome], eos_runs: list[Outcome],
           *, facts: dict[str, str], command: str, opts: Any, broker_desc: str,
           component_runs: list[tuple[str, str]]) -> str:
    passthrough_runs = median_outcomes(per_round) if per_round else []
    lines = [
        "# Benchmark results",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC} by `{command}` against {broker_desc}.",
        "Figures are events/s from a contender's first input event to its last acknowledged "
        "output (under exactly-once: to the commit of the transaction that holds it). Every "
        "output topic is read back and checked: missing events, duplicates and per-key order "
        "violations. See `docs/benchmarks.md`.",
        "",
        "## Passthrough (decode Avro → handler → encode → produce, at-least-once)",
        "",
        f"{len(per_round)} interleaved round(s) of every contender on the same input; events/s "
        "is each contender's median round, the ratios below are per round (contenders measured "
        "side by side), then their median.",
        "",
        "| contender | events/s | x bare loop | CPU µs/event (loop thread) | missing | duplicates "
        "| order violations | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    bare = next((r.events_per_s for r in passthrough_runs if r.contender == "bare-confluent"
                 and r.events_per_s > 0), None)
    for r in passthrough_runs:
        ratio = r.events_per_s / bare if bare else None
        cpu = r.extra.get("cpu_us")
        loop_cpu = r.extra.get("loop_cpu_us")
        cpu_col = "" if cpu is None else f"{cpu:.0f}" + (
            "" if loop_cpu is None else f" ({loop_cpu:.0f})")
        lines.append(f"| {r.contender} | {r.events_per_s:.0f} | {_fmt(ratio)} | {cpu_col} | "
                     f"{_verdict_cols(r)} | {r.note} |")
    vs_bare, vs_peer = round_ratios(per_round)

    def _ratios(values: list[float]) -> str:
        each = ", ".join(f"{v:.2f}" for v in values)
        return f"**{statistics.median(values):.2f}** (rounds: {each})"

    if vs_bare:
        lines += ["", f"AgentStream / bare loop: {_ratios(vs_bare)} (target ≥ 0.6)."]
    if vs_peer:
        lines.append(f"AgentStream / best peer: {_ratios(vs_peer)} (target ≥ 1.0).")
    vs_typed = ratios_to(per_round, "bare-typed")
    if vs_typed:
        lines.append(f"AgentStream / bare loop with typed records and lineage (the runtime's own "
                     f"cost): {_ratios(vs_typed)}.")
    lines += [
        "",
        f"## Slow handler ({opts.slow_ms:.0f} ms sleep per event, {opts.keys} keys)",
        "",
        "| contender | max_in_flight | bound ev/s | events/s | x bound | missing | duplicates "
        "| order violations | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in slow_runs:
        mif = r.extra.get("max_in_flight") or (
            r.note.rsplit("concurrency=", 1)[1] if "concurrency=" in r.note else "1")
        bound = r.extra.get("bound")
        ratio = r.events_per_s / bound if bound else None
        lines.append(f"| {r.contender} | {mif} | {_fmt(bound, '.0f')} | {r.events_per_s:.1f} | "
                     f"{_fmt(ratio)} | {_verdict_cols(r)} | {r.note} |")
    lines += ["", "Target: AgentStream ≥ 0.9 x bound at each max_in_flight, no order violation.",
              "",
              "## Exactly-once vs at-least-once", "",
              "| contender | at-least-once ev/s | exactly-once ev/s | ratio | EOS missing "
              "| EOS duplicates | EOS order violations |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    alos = {r.contender: r.events_per_s for r in passthrough_runs}
    for r in eos_runs:
        a = alos.get(r.contender)
        ratio = r.events_per_s / a if a else None
        lines.append(f"| {r.contender} | {_fmt(a, '.0f')} | {r.events_per_s:.0f} | "
                     f"{_fmt(ratio)} | {_verdict_cols(r)} |")
    lines += ["", "Target: AgentStream ratio ≥ 0.8."]
    for shown, text in component_runs:
        lines += ["", f"## Component: `{shown}`", "", "```", text, "```"]
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    every_pass = [r for runs in per_round for r in runs]
    failures = [r for r in every_pass + slow_runs + eos_runs if r.note.startswith("failed")]
    if failures:
        lines += ["", "## Failures", ""]
        for r in failures:
            lines += [f"- {r.scenario} / {r.contender} / {r.mode}:", "", "```",
                      r.note.removeprefix("failed: "), "```"]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None = None) -> Any:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, one max_in_flight")
    p.add_argument("--events", type=int,
                   help="passthrough / EOS events (default 30000; quick 10000)")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--rounds", type=int,
                   help="interleaved passthrough rounds per contender (default 3; quick 1)")
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--max-seconds", type=float,
                   help="cap per passthrough run (default 30; quick 20)")
    p.add_argument("--slow-ms", type=float, default=200.0)
    p.add_argument("--slow-in-flight",
                   help="comma list of max_in_flight (default 100,400,1000; quick 100)")
    p.add_argument("--slow-seconds", type=float,
                   help="slow-run length at the bound (default 6; quick 4)")
    p.add_argument("--peer-cap-seconds", type=float, default=10.0,
                   help="cap of the peers' slow-handler runs (they do ~5 events/s)")
    p.add_argument("--contenders", default=",".join(ALL_CONTENDERS),
                   help=f"comma list out of {', '.join(ALL_CONTENDERS)}")
    p.add_argument("--scenarios", default="passthrough,slow,eos,components",
                   help="comma list; components = the benchmarks/bench_*.py of each module")
    p.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    o = p.parse_args(argv)
    o.events = o.events or (10_000 if o.quick else 30_000)
    o.rounds = max(1, o.rounds or (1 if o.quick else 3))
    o.max_seconds = o.max_seconds or (20.0 if o.quick else 30.0)
    o.slow_seconds = o.slow_seconds or (4.0 if o.quick else 6.0)
    o.slow_in_flight = [int(x) for x in (o.slow_in_flight or ("100" if o.quick else "100,400,1000"))
                        .split(",")]
    o.contenders = [c.strip() for c in o.contenders.split(",") if c.strip()]
    o.scenarios = {s.strip() for s in o.scenarios.split(",")}
    return o


def main(argv: list[str] | None = None) -> None:
    opts = parse(argv)
    command = " ".join(["python benchmarks/run_all.py",
                        shlex.join(sys.argv[1:] if argv is None else argv)]).strip()
    quix_python = ensure_quix_venv() if "quix" in opts.contenders else None
    cs = contenders(opts.contenders, quix_python)
    facts = machine_facts(quix_python)
    p_runs: list[list[Outcome]] = []
    s_runs: list[Outcome] = []
    e_runs: list[Outcome] = []
    c_runs: list[tuple[str, str]] = []
    with broker() as (bootstrap, desc), tempfile.TemporaryDirectory() as tmp:
        print(f"broker: {desc}; contenders: {', '.join(c.name for c in cs.values())}", flush=True)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        h = Harness(bootstrap, admin, schema_file(Path(tmp)), opts)
        try:
            src = None
            if opts.scenarios & {"passthrough", "eos"}:
                src, p_runs = passthrough(h, cs)
            if "slow" in opts.scenarios:
                s_runs = slow_handler(h, cs)
            if "eos" in opts.scenarios and src is not None:
                e_runs = exactly_once(h, cs, src)
            if "components" in opts.scenarios:
                c_runs = components(bootstrap)
        finally:
            drop_topics(admin, h.topics)
    text = report(p_runs, s_runs, e_runs, facts=facts, command=command, opts=opts,
                  broker_desc=desc, component_runs=c_runs)
    opts.results.write_text(text)
    print("\n" + text)
    print(f"written to {opts.results}")


if __name__ == "__main__":
    main()
