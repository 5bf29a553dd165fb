"""Partition ownership shared by ``WorkflowEngine`` (runs) and ``TimerService`` (timers).

Both keep their durable items in a compacted topic and own some of its partitions at a time:
``_own`` starts loading a partition in the background (``ready`` waits for it), ``_release``
stops owning partitions at once — the tasks of their items are cancelled (stopped, not
finished: the next owner resumes them), their ids forgotten through ``_drop_item`` — and returns an
awaitable for the tasks to have ended and the writes to be flushed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from agentstream.workflow._kafka import AckedProducer

__all__ = ["OwnedPartition", "PartitionOwner"]

log = logging.getLogger("agentstream.workflow")


class OwnedPartition:
    """One owned partition: its producer (exactly-once), the ids of its items, its load state."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.producer: AckedProducer | None = None
        self.ready = asyncio.Event()
        self.loader: asyncio.Task[None] | None = None
        self.ids: set[str] = set()


class PartitionOwner:
    """The ownership half of a partitioned engine; subclasses set the attributes below."""

    partition_count: int
    _parts: dict[int, OwnedPartition]
    _tasks: dict[str, asyncio.Task[Any]]
    _shared: AckedProducer | None  # at-least-once: one producer for every partition

    def _own(
        self,
        partitions: Iterable[int],
        *,
        topic: str,
        load: Callable[[OwnedPartition], Coroutine[Any, Any, None]],
        error: type[Exception],
        hint: str,
    ) -> None:
        """Own ``partitions`` from now on, each loaded by ``load`` in the background."""
        for p in partitions:
            if p in self._parts:
                continue
            if not 0 <= p < self.partition_count:
                raise error(
                    f"{topic!r} has {self.partition_count} partition(s), not {p + 1}: "
                    f"create it with {hint}"
                )
            part = self._parts[p] = OwnedPartition(p)
            part.loader = asyncio.create_task(load(part), name=f"load-{topic}-{p}")

    def _release(self, partitions: Iterable[int], *, what: str) -> Awaitable[None]:
        """Stop owning ``partitions`` at once (call on the loop); await for their tasks to end
        and their writes to be flushed. ``what`` names the items in the log line."""
        parts = [self._parts.pop(p) for p in list(partitions) if p in self._parts]
        tasks: list[asyncio.Task[Any]] = []
        for part in parts:
            part.ready.set()  # wakes whoever waits for it; they find it revoked
            if part.loader is not None and not part.loader.done():
                part.loader.cancel()
                tasks.append(part.loader)
            for item_id in part.ids:
                task = self._tasks.pop(item_id, None)
                if task is not None:
                    task.cancel()
                    tasks.append(task)
                self._drop_item(item_id)
        return self._stopped(parts, tasks, what)

    def _drop_item(self, item_id: str) -> None:
        """Drop what is kept of an item of a released partition (its task is already gone)."""
        raise NotImplementedError

    async def _stopped(
        self, parts: list[OwnedPartition], tasks: list[asyncio.Task[Any]], what: str
    ) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)
        for part in parts:
            if part.producer is not None:
                await part.producer.close()
        if parts and self._shared is not None:
            # Writes in flight land before the next owner reads the partition.
            await asyncio.to_thread(self._shared.flush)
        if parts:
            log.info("%s: released partition(s) %s", what, sorted(p.partition for p in parts))

    async def ready(self, partitions: Iterable[int] | None = None) -> None:
        """Wait until the owned ``partitions`` (default all owned) are loaded."""
        wanted = self._parts if partitions is None else {p: self._parts[p] for p in partitions}
        await asyncio.gather(*(part.ready.wait() for part in list(wanted.values())))

    @property
    def owned(self) -> list[int]:
        """The partitions owned here (loaded or loading)."""
        return sorted(self._parts)
