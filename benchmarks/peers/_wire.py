"""Avro single-object encoding with fastavro only, for the peer scripts.

Peers run in their own virtual environments (quixstreams pins confluent-kafka and pydantic) and
must not import ``agentstream``; this module is all they share with the harness. The bytes are
the registry-free wire format of AgentStream: ``0xC3 0x01`` + the writer schema's CRC-64-AVRO
fingerprint (8 bytes, little-endian) + the Avro binary body.
"""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

__all__ = ["HANDLER_SOURCE", "Wire", "emit_result", "handle", "mark_cpu", "peer_args"]

MAGIC = b"\xc3\x01"
HANDLER_SOURCE = "bench.{contender}"


class Wire:
    """Decode and encode one record type in single-object encoding."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.parsed = fastavro.parse_schema(schema, {})
        canonical = to_parsing_canonical_form(schema)
        self.header = MAGIC + bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))

    @classmethod
    def from_file(cls, path: str | Path) -> Wire:
        return cls(json.loads(Path(path).read_text()))

    def decode(self, data: bytes) -> dict[str, Any]:
        if data[:10] != self.header:
            raise ValueError(f"not single-object encoded with the expected schema: {data[:10]!r}")
        out: dict[str, Any] = fastavro.schemaless_reader(
            io.BytesIO(memoryview(data)[10:]), self.parsed, self.parsed
        )
        return out

    def encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self.header)
        fastavro.schemaless_writer(buf, self.parsed, record)
        return buf.getvalue()


def handle(wire: Wire, data: bytes, contender: str) -> bytes:
    """The benchmark's handler, the same work for every peer: decode, touch, re-encode."""
    record = wire.decode(data)
    record["meta"]["source"] = HANDLER_SOURCE.format(contender=contender)
    return wire.encode(record)


_CPU: dict[str, float] = {}


def mark_cpu() -> None:
    """Note the process's CPU time (all threads) and this thread's, once: call it where the
    first input is seen (``emit_result`` then reports CPU per event from there)."""
    if not _CPU:
        _CPU["process"] = time.process_time()
        _CPU["thread"] = time.thread_time()
        _CPU["thread_id"] = threading.get_ident()


def emit_result(contender: str, *, processed: int, started: float | None, mode: str,
                **extra: Any) -> None:
    """Print the one JSON line the harness reads: events/s between first input and last ack,
    and CPU µs per event (whole process; ``loop_cpu_us`` = the thread that called
    ``mark_cpu``, when ``emit_result`` runs on it)."""
    elapsed = (time.monotonic() - started) if started is not None else 0.0
    if _CPU and processed > 0:
        extra.setdefault("cpu_us", round((time.process_time() - _CPU["process"]) / processed * 1e6,
                                         1))
        if threading.get_ident() == _CPU["thread_id"]:
            extra.setdefault("loop_cpu_us", round(
                (time.thread_time() - _CPU["thread"]) / processed * 1e6, 1))
    result = {
        "contender": contender,
        "mode": mode,
        "processed": processed,
        "seconds": round(elapsed, 3),
        "events_per_s": round(processed / elapsed, 1) if elapsed > 0 else 0.0,
        **extra,
    }
    print("RESULT " + json.dumps(result), flush=True)


def peer_args(description: str) -> argparse.Namespace:
    """The command line every contender accepts (the harness passes the same to each)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers host:port")
    p.add_argument("--input", required=True, help="input topic (single-object Avro events)")
    p.add_argument("--output", required=True, help="output topic")
    p.add_argument("--count", type=int, required=True, help="stop after this many outputs")
    p.add_argument("--slow-ms", type=float, default=0.0, help="handler sleep (stands in for LLM)")
    p.add_argument("--schema", required=True, help="writer schema JSON file of the events")
    p.add_argument("--group", required=True, help="consumer group / application id")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="stop after this long even if --count was not reached")
    p.add_argument("--mode", choices=["at_least_once", "exactly_once"], default="at_least_once")
    p.add_argument("--max-in-flight", type=int, default=0,
                   help="concurrency limit, for contenders that have one (0 = their default)")
    return p.parse_args()
