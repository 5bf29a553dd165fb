"""The bare loop with AgentStream's typed records and lineage, and none of its runtime.

The same consume → produce loop as ``peers/bare_confluent.py`` (same commits, same
acknowledgement rule), but each event goes the way an AgentStream handler sees it: decoded by
``agentstream.serde`` into the generated ``PullRequestOpened``, changed with ``replace``, emitted
through a ``Context`` (deterministic output id, causation and correlation from the input) and
encoded by the serde. What this contender costs over the bare loop is the price of typed records
and lineage; what AgentStream costs over this one is its runtime (key-ordered concurrency,
acknowledgement tracking, dedupe markers, metrics). See docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from _wire import HANDLER_SOURCE, peer_args
from bare_confluent import run

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.runtime import Context
from agentstream.serde import make_serde

CONTENDER = "bare-typed"


class _Capture:
    """A ``Context`` sender that keeps the one record the handler emits."""

    def __init__(self) -> None:
        self.record: Any = None

    def send_record(self, topic: str, record: Any, *, key: bytes | None, headers: Any) -> None:
        self.record = record

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None, *,
                 headers: Any) -> None:
        raise AssertionError("the passthrough writes no raw records")


def main() -> None:
    args = peer_args(__doc__ or CONTENDER)
    serde = make_serde(KafkaSettings(bootstrap_servers=args.bootstrap))
    serde.warm(encodes=[(args.output, PullRequestOpened)], decodes=[(args.input,
                                                                     PullRequestOpened)])
    source = HANDLER_SOURCE.format(contender=CONTENDER)
    sender = _Capture()

    def transform(value: bytes) -> bytes:
        event = serde.decode(args.input, value)
        ctx = Context(agent="bench", event=event, topic=args.input, partition=0, offset=0,
                      key=None, attempt=1, dedupe_key=event.meta.id, sender=sender)
        out = event.replace(meta=event.meta.replace(source=source))
        with contextlib.suppress(StopIteration):  # ctx.emit only queues: it never suspends
            ctx.emit(out, topic=args.output).send(None)
        return serde.encode(args.output, sender.record)

    run(args, transform, CONTENDER)


if __name__ == "__main__":
    main()
