"""quixstreams doing the passthrough: a StreamingDataFrame that decodes, handles, re-encodes.

Runs in its OWN venv (``benchmarks/.venv-quix``, made by ``run_all.py``): quixstreams 3.28 pins
confluent-kafka < 2.13 and pydantic < 2.14, which must not constrain AgentStream. Quix's own
delivery: ``at-least-once`` (checkpoint every ``commit_interval``: flush producer, then commit)
or ``exactly-once`` (the checkpoint is a transaction). Quix is synchronous: ``--slow-ms`` is a
``time.sleep`` in the handler, one event at a time.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from quixstreams import Application

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _wire import Wire, emit_result, handle, mark_cpu, peer_args

CONTENDER = "quixstreams"


def main() -> None:
    args = peer_args(__doc__ or CONTENDER)
    wire = Wire.from_file(args.schema)
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once" if args.mode == "exactly_once" else "at-least-once",
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel=logging.WARNING,
        producer_extra_config={"linger.ms": 5},
    )
    src = app.topic(args.input, key_deserializer="bytes", value_deserializer="bytes")
    dst = app.topic(args.output, key_serializer="bytes", value_serializer="bytes")
    state: dict[str, Any] = {"started": None, "seen": 0}
    slow = args.slow_ms / 1000

    def process(value: bytes) -> bytes:
        if state["started"] is None:
            state["started"] = time.monotonic()
            mark_cpu()
        if slow:
            time.sleep(slow)
        state["seen"] += 1
        if state["seen"] >= args.count or (
            time.monotonic() - state["started"] > args.max_seconds
        ):
            # stop() lets run() finish this message, checkpoint (flush + commit) and return.
            app.stop()
        return handle(wire, value, CONTENDER)

    sdf = app.dataframe(src)
    sdf = sdf.apply(process)
    sdf.to_topic(dst)
    app.run()
    emit_result(CONTENDER, processed=state["seen"], started=state["started"], mode=args.mode)


if __name__ == "__main__":
    main()
