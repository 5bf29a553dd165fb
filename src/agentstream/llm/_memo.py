"""The memo of paid LLM work: a compacted topic ``_agentstream.llm.<agent>``.

Key: ``<input topic>|<partition>|<offset>|<call ordinal>`` for a call made from a handler (a
workflow step: ``step|<run id>:<step>|<ordinal>``) — never a hash of the prompt, so two inputs
asking the same question are two calls, and a redelivered input asks nothing again. Value: the
answer as JSON (content, model, usage, time).

A fresh answer is written at once by the memo's own idempotent producer and acknowledged before
the handler sees it, so a crash between the call and the input's commit does not lose it. A copy
goes through the handler's context (``ctx.produce_raw``): acknowledged before the input's offset
commits, and in exactly-once mode inside the same transaction as its outputs and offsets.

Reads: the whole topic is read once on first use (``read_uncommitted``: an answer from an
aborted transaction is still a paid answer); before a call the reader catches up to the high
watermarks measured after the lookup began, so an answer that another process wrote before a
rebalance is found. Concurrent catch-ups are coalesced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from agentstream import shadow
from agentstream.bus import ensure_topic, make_admin, make_consumer, make_producer
from agentstream.config import KafkaSettings

__all__ = ["MemoStore", "encode", "memo_key", "memo_topic", "now_iso"]

log = logging.getLogger("agentstream.llm")

_WRITE_DEADLINE = 30.0
_READ_DEADLINE = 60.0


def memo_topic(agent: str, *, prefix: str = "") -> str:
    return f"{prefix}_agentstream.llm.{agent}"


class MemoStore:
    """See the module docstring. ``get`` and ``put`` are awaited on the agent's loop; Kafka
    calls run on worker threads."""

    def __init__(
        self,
        agent: str,
        *,
        kafka: KafkaSettings,
        partitions: int = 3,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.agent = agent
        self.kafka = kafka
        # A shadow run has a memo of its own: production's answers are for production's prompts.
        self.topic = shadow.state_topic(memo_topic(agent, prefix=kafka.topic_prefix))
        self.partitions = partitions
        self.retention = retention
        self.entries: dict[str, dict[str, Any]] = {}
        self._consumer: Consumer | None = None
        self._admin: AdminClient | None = None
        self._producer: Producer | None = None
        self._positions: dict[int, int] = {}
        self._progress = threading.Condition()
        self._follower: threading.Thread | None = None
        self._synced_at = -1.0
        self._sync_task: asyncio.Future[None] | None = None
        self._closed = threading.Event()
        self._poller: threading.Thread | None = None
        self._open_lock = asyncio.Lock()

    # -- opening ------------------------------------------------------------------------------
    async def _ensure_open(self) -> None:
        if self._consumer is not None:
            return
        async with self._open_lock:
            if self._consumer is None:
                await asyncio.to_thread(self._open)

    def _open(self) -> None:
        admin = make_admin(self.kafka.client_config())
        n = ensure_topic(
            admin, self.topic, partitions=self.partitions,
            config={"cleanup.policy": "compact,delete",
                    "retention.ms": str(int(self.retention.total_seconds() * 1000))},
        )
        producer = make_producer(self.kafka.client_config(**{
            "enable.idempotence": True, "acks": "all", "linger.ms": 2,
        }))
        consumer = make_consumer(self.kafka.client_config(**{
            "group.id": f"_agentstream.llm-memo.{self.agent}",
            "enable.auto.commit": False, "isolation.level": "read_uncommitted",
            "enable.partition.eof": False, "fetch.wait.max.ms": 10,
        }))
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(n)])
        self._admin = admin
        self._positions = dict.fromkeys(range(n), 0)
        self._producer = producer
        self._consumer = consumer
        self._poller = threading.Thread(
            target=self._poll_producer, name=f"llm-memo-{self.agent}", daemon=True
        )
        self._poller.start()
        self._follower = threading.Thread(
            target=self._follow, name=f"llm-memo-follow-{self.agent}", daemon=True
        )
        self._follower.start()
        started = time.monotonic()
        self._catch_up()
        self._synced_at = started
        log.info("llm memo %s: %d answers read", self.topic, len(self.entries))

    def _poll_producer(self) -> None:
        while not self._closed.is_set():
            producer = self._producer
            if producer is not None:
                producer.poll(0.05)

    # -- reading ------------------------------------------------------------------------------
    def _high_watermarks(self) -> dict[int, int]:
        """One ListOffsets request for every partition (the admin client has its own
        connection, so a fetch waiting on the broker does not delay it)."""
        assert self._admin is not None
        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        req = {TopicPartition(self.topic, p): latest for p in self._positions}
        deadline = time.monotonic() + _READ_DEADLINE
        while True:
            futures = self._admin.list_offsets(
                req, isolation_level=IsolationLevel.READ_UNCOMMITTED, request_timeout=10
            )
            try:
                return {tp.partition: int(f.result(timeout=15).offset)
                        for tp, f in futures.items()}
            except KafkaException:  # a fresh topic's leaders may not be known yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _follow(self) -> None:
        """The follower thread: read the memo topic as it grows (fetching continuously costs
        one idle fetch per ``fetch.wait.max.ms``), publishing positions to ``_catch_up``."""
        consumer = self._consumer
        assert consumer is not None
        parts = [TopicPartition(self.topic, p) for p in self._positions]
        while not self._closed.is_set():
            try:
                first = consumer.poll(0.1)
            except KafkaException as exc:  # lookups wait for progress with their deadline
                log.warning("llm memo %s: read failed (%s); retrying", self.topic, exc)
                time.sleep(0.5)
                continue
            if first is None:
                continue
            batch = [first, *consumer.consume(num_messages=5000, timeout=0)]
            with self._progress:
                for msg in batch:
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("llm memo read: %s", err)
                        continue
                    p, off = int(msg.partition() or 0), int(msg.offset() or 0)
                    self._positions[p] = max(self._positions.get(p, 0), off + 1)
                    self._apply(msg.key(), msg.value())
                self._note_positions(consumer, parts)
                self._progress.notify_all()

    def _note_positions(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        # Transaction markers occupy offsets without a message: the position passes them.
        for tp in consumer.position(parts):
            if tp.offset >= 0:
                self._positions[tp.partition] = max(self._positions[tp.partition], tp.offset)

    def _catch_up(self) -> None:
        """Wait until the follower has read every partition up to the high watermark measured
        now."""
        targets = self._high_watermarks()
        deadline = time.monotonic() + _READ_DEADLINE
        with self._progress:
            while any(self._positions.get(p, 0) < high for p, high in targets.items()):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed.is_set():
                    raise TimeoutError(f"reading the LLM memo {self.topic} took over "
                                       f"{_READ_DEADLINE:g}s; is the broker healthy?")
                self._progress.wait(min(left, 0.05))

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        k = key.decode()
        if value is None:
            self.entries.pop(k, None)
            return
        try:
            self.entries[k] = json.loads(value)
        except ValueError:
            log.warning("llm memo %s: undecodable value under %r ignored", self.topic, k)

    async def _sync_since(self, asked: float) -> None:
        while self._synced_at < asked:
            if self._sync_task is None or self._sync_task.done():
                self._sync_task = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._sync_task)

    async def _sync(self) -> None:
        started = time.monotonic()
        await asyncio.to_thread(self._catch_up)
        self._synced_at = max(self._synced_at, started)

    async def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer under ``key``, after catching up with every answer written before
        this call began; None when there is none."""
        asked = time.monotonic()
        await self._ensure_open()
        hit = self.entries.get(key)
        if hit is not None:
            return hit
        await self._sync_since(asked)
        return self.entries.get(key)

    # -- writing --------------------------------------------------------------------------------
    async def put(self, key: str, value: dict[str, Any]) -> bytes:
        """Store ``value`` and wait for its acknowledgement (up to 30 s: after that the answer is
        kept in memory and the copy through the context still commits with the input)."""
        await self._ensure_open()
        self.entries[key] = value
        data = encode(value)
        producer = self._producer
        assert producer is not None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def on_delivery(err: Any, _msg: Any) -> None:
            def settle() -> None:
                if done.done():
                    return
                if err is None:
                    done.set_result(None)
                else:
                    done.set_exception(RuntimeError(str(err)))
            loop.call_soon_threadsafe(settle)

        producer.produce(self.topic, key=key.encode(), value=data, on_delivery=on_delivery)
        try:
            await asyncio.wait_for(done, _WRITE_DEADLINE)
        except (TimeoutError, RuntimeError) as exc:
            log.warning("llm memo %s: write of %r not acknowledged (%s); the copy written with "
                        "the input still commits with it", self.topic, key, exc)
        return data

    def tokens_since(self, since: datetime) -> int:
        """Tokens of the answers recorded at or after ``since`` (rebuilds the daily budget)."""
        total = 0
        for entry in list(self.entries.values()):
            at = entry.get("at")
            if isinstance(at, str) and datetime.fromisoformat(at) >= since:
                usage = entry.get("usage") or {}
                total += int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        return total

    def close(self) -> None:
        self._closed.set()
        for thread in (self._poller, self._follower):
            if thread is not None:
                thread.join(2)
        if self._producer is not None:
            self._producer.flush(10)
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def memo_key(ctx: Any, ordinal: int) -> str | None:
    """The memo key of call ``ordinal`` made with ``ctx`` (a handler ``Context`` or a workflow
    ``StepContext``); None for anything else (no memo)."""
    topic = getattr(ctx, "topic", None)
    offset = getattr(ctx, "offset", None)
    if isinstance(topic, str) and isinstance(offset, int):
        return f"{topic}|{ctx.partition}|{offset}|{ordinal}"
    step_key = getattr(ctx, "idempotency_key", None)
    if isinstance(step_key, str):
        return f"step|{step_key}|{ordinal}"
    return None


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
