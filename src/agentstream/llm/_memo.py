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

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from agentstream.bus import ensure_topic
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
        self.topic = memo_topic(agent, prefix=kafka.topic_prefix)
        self.partitions = partitions
        self.retention = retention
        self.entries: dict[str, dict[str, Any]] = {}
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._positions: dict[int, int] = {}
        self._read_lock = threading.Lock()
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
        admin = AdminClient(self.kafka.client_config())
        n = ensure_topic(
            admin, self.topic, partitions=self.partitions,
            config={"cleanup.policy": "compact,delete",
                    "retention.ms": str(int(self.retention.total_seconds() * 1000))},
        )
        producer = Producer(self.kafka.client_config(**{
            "enable.idempotence": True, "acks": "all", "linger.ms": 2,
        }))
        consumer = Consumer(self.kafka.client_config(**{
            "group.id": f"_agentstream.llm-memo.{self.agent}",
            "enable.auto.commit": False, "isolation.level": "read_uncommitted",
            "enable.partition.eof": False,
        }))
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(n)])
        self._positions = dict.fromkeys(range(n), 0)
        self._producer = producer
        self._consumer = consumer
        self._poller = threading.Thread(
            target=self._poll_producer, name=f"llm-memo-{self.agent}", daemon=True
        )
        self._poller.start()
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
    def _catch_up(self) -> None:
        """Read every partition up to the high watermark measured now."""
        consumer = self._consumer
        assert consumer is not None
        with self._read_lock:
            targets = {}
            for p, pos in self._positions.items():
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, p), timeout=10, cached=False
                )
                if high > pos:
                    targets[p] = high
            deadline = time.monotonic() + _READ_DEADLINE
            while targets:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading the LLM memo {self.topic} took over "
                                       f"{_READ_DEADLINE:g}s; is the broker healthy?")
                for msg in consumer.consume(num_messages=5000, timeout=0.2):
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("llm memo read: %s", err)
                        continue
                    p, off = int(msg.partition() or 0), int(msg.offset() or 0)
                    self._positions[p] = max(self._positions.get(p, 0), off + 1)
                    self._apply(msg.key(), msg.value())
                    if p in targets and self._positions[p] >= targets[p]:
                        del targets[p]
                # Transaction markers occupy offsets without a message: ask where we are.
                for p in list(targets):
                    pos = consumer.position([TopicPartition(self.topic, p)])[0].offset
                    if pos >= 0:
                        self._positions[p] = max(self._positions[p], pos)
                    if self._positions[p] >= targets[p]:
                        del targets[p]

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
        for entry in self.entries.values():
            at = entry.get("at")
            if isinstance(at, str) and datetime.fromisoformat(at) >= since:
                usage = entry.get("usage") or {}
                total += int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        return total

    def close(self) -> None:
        self._closed.set()
        if self._poller is not None:
            self._poller.join(2)
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
