"""faust-streaming doing the passthrough: one agent reads raw bytes, decodes, handles, re-encodes.

Runs in AgentStream's own venv (faust-streaming is an extra of ours), in its own process. Faust's
own delivery: ``at_least_once`` (offsets of acked events committed every ``broker_commit_every``
events or ``broker_commit_interval``) or ``exactly_once`` (``processing_guarantee``, transactions
per partition). The agent has Faust's default concurrency 1, which is what keeps per-partition
order; ``--slow-ms`` sleeps with ``asyncio.sleep`` inside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faust

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _wire import Wire, emit_result, handle, mark_cpu, peer_args

CONTENDER = "faust-streaming"


def main() -> None:
    args = peer_args(__doc__ or CONTENDER)
    wire = Wire.from_file(args.schema)
    logging.basicConfig(level=logging.WARNING)
    app = faust.App(
        args.group,
        broker=f"kafka://{args.bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        processing_guarantee=args.mode,
        web_enabled=False,
        datadir=tempfile.mkdtemp(prefix="faust-bench-"),
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.005,
    )
    src = app.topic(args.input, value_type=bytes, key_type=bytes)
    dst = app.topic(args.output, value_type=bytes, key_type=bytes)
    state: dict[str, Any] = {"started": None, "done": 0, "finished": False}
    slow = args.slow_ms / 1000

    async def finish() -> None:
        if state["finished"]:
            return
        state["finished"] = True
        done = state["done"]  # what the flush below covers; the agent may go on meanwhile
        await app.producer.flush()
        emit_result(CONTENDER, processed=done, started=state["started"], mode=args.mode)
        # Faust has no "stop after N" API; the figures are printed and flushed, so leave now
        # rather than wait out a consumer-group leave that measures nothing.
        os._exit(0)

    @app.agent(src, concurrency=max(args.max_in_flight, 1))
    async def passthrough(stream: Any) -> None:
        async for key, value in stream.items():
            if state["started"] is None:
                state["started"] = time.monotonic()
                mark_cpu()
            if slow:
                await asyncio.sleep(slow)
            await dst.send(key=key, value=handle(wire, value, CONTENDER))
            state["done"] += 1
            if state["done"] >= args.count:
                await finish()

    @app.timer(interval=0.5)
    async def time_cap() -> None:
        started = state["started"]
        if started is not None and time.monotonic() - started > args.max_seconds:
            await finish()

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
