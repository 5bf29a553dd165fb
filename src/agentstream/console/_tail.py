"""``TopicTail``: one consumer thread per open tail page, handing decoded rows to the loop.

The consumer lives and dies on its own thread (librdkafka clients must not be closed while
another thread polls them), so a browser that goes away only sets a flag: the thread notices
within one poll, closes its consumer and exits. Rows cross to the event loop through a bounded
queue; when the browser reads slower than the topic fills, the oldest rows are dropped, never the
stream (a tail is a view, not a delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, TopicPartition

from agentstream.bus import make_consumer
from agentstream.config import KafkaSettings
from agentstream.console._index import decode_message
from agentstream.errors import AgentStreamError
from agentstream.serde import Serde

__all__ = ["TopicTail", "UnknownTopicError"]

_QUEUE = 1000


class UnknownTopicError(AgentStreamError):
    """The topic to tail does not exist; check its name on the Topics page."""


def tail_row(serde: Serde, msg: Any) -> dict[str, Any]:
    base = {"partition": msg.partition(), "offset": msg.offset()}
    if msg.value() is None:
        return {**base, "type": "(tombstone)", "key": (msg.key() or b"").decode("utf-8", "replace")}
    try:
        e = decode_message(serde, msg)
    except AgentStreamError as exc:
        return {**base, "error": f"undecodable: {exc}"}
    return {**base, "type": e.type, "key": e.key, "id": e.id, "time": e.time, "value": e.value}


class TopicTail:
    """Decoded records of ``topic`` from its end (or beginning), as server-sent events."""

    def __init__(
        self, kafka: KafkaSettings, serde: Serde, topic: str, *, from_beginning: bool,
        timeout: float,
    ) -> None:
        self._kafka, self._serde, self.topic = kafka, serde, topic
        self._offset = OFFSET_BEGINNING if from_beginning else OFFSET_END
        self._timeout = timeout
        self._stop = threading.Event()
        self._ready: asyncio.Future[None] | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        """Start the consumer thread; raises ``UnknownTopicError`` for a missing topic."""
        self._loop = asyncio.get_running_loop()
        self._ready = self._loop.create_future()
        threading.Thread(target=self._run, name=f"console-tail-{self.topic}", daemon=True).start()
        await asyncio.wait_for(asyncio.shield(self._ready), self._timeout + 5)

    def close(self) -> None:
        self._stop.set()

    async def events(self) -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while not self._stop.is_set():
                try:
                    yield await asyncio.wait_for(self._queue.get(), 5)
                except TimeoutError:
                    yield ": idle\n\n"  # also how a closed connection is noticed
        finally:
            self.close()

    # -- the consumer thread ----------------------------------------------------------------------
    def _settle(self, error: BaseException | None) -> None:
        assert self._loop is not None and self._ready is not None
        ready = self._ready

        def settle() -> None:
            if not ready.done():
                if error is None:
                    ready.set_result(None)
                else:
                    ready.set_exception(error)

        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(settle)

    def _push(self, line: str) -> None:
        def put() -> None:
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(line)

        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(put)
        except RuntimeError:  # the loop is closed
            self._stop.set()

    def _run(self) -> None:
        consumer = make_consumer(self._kafka.client_config(**{
            "group.id": f"agentstream-console-tail-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }))
        try:
            md = consumer.list_topics(self.topic, timeout=self._timeout).topics.get(self.topic)
            if md is None or md.error is not None or not md.partitions:
                self._settle(UnknownTopicError(f"topic {self.topic!r} does not exist"))
                return
            consumer.assign([TopicPartition(self.topic, p, self._offset)
                             for p in sorted(md.partitions)])
            self._settle(None)
            while not self._stop.is_set():
                for msg in consumer.consume(num_messages=200, timeout=0.5):
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            self._push(f"data: {json.dumps({'error': str(err)})}\n\n")
                        continue
                    row = tail_row(self._serde, msg)
                    self._push(f"data: {json.dumps(row, default=str)}\n\n")
        except Exception as exc:
            self._settle(exc)
        finally:
            consumer.close()
