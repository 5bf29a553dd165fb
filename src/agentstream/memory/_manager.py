"""``StoreManager``: an agent's memory stores, restored per partition, written through a changelog.

The integration surface for the runtime is deliberately narrow:

- on partition assignment: ``await manager.assign(partitions)`` (or ``begin_assign`` from a
  rebalance callback, then ``is_ready``) before handling a partition's events;
- on revocation: ``manager.revoke(partitions)`` (cancels restores, drops local state; durable
  state is closed and kept, so a later assignment reads only the changelog tail);
- per input event: ``manager.apply(event, partition)`` runs every reducer;
- the runtime's producer implements ``ChangelogWriter``; the runtime owns commit order: changelog
  writes are flushed before input offsets commit, or share their transaction (exactly-once).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentstream.config import KafkaSettings
from agentstream.errors import StoreNotReadyError, UnknownStoreError
from agentstream.memory._backend import Backend, LocalState, open_state
from agentstream.memory._changelog import ChangelogSource, ChangelogWriter, KafkaChangelogSource
from agentstream.memory._facts import (
    Fact,
    as_of,
    assert_fact,
    decode_facts,
    encode_facts,
    retract_fact,
)
from agentstream.memory._persist import PersistentState, StateDirLock, partition_dir, prune
from agentstream.memory._restore import PartitionStatus, RestoreJob, Restorer, RestoreStats
from agentstream.memory._spec import FactStoreSpec, StoreSpec, changelog_topic

__all__ = ["FactStore", "Store", "StoreManager"]

log = logging.getLogger("agentstream.memory")

AnySpec = StoreSpec | FactStoreSpec


class _Core:
    """What both store kinds share: a name, a changelog topic, per-partition local state."""

    def __init__(self, manager: StoreManager, name: str, topic: str, backend: Backend) -> None:
        self._m = manager
        self.name = name
        self.topic = topic
        self.backend = backend

    def _local(self, partition: int) -> LocalState:
        state = self._m._restorer.state(self.name, partition)
        if state is None:
            status = self._m._restorer.status(partition)
            raise StoreNotReadyError(
                f"store {self.name!r}: partition {partition} is {status.value}, not active; "
                "handle its events only after StoreManager.assign returned for it"
            )
        return state

    def _find(self, key: bytes, partition: int | None) -> tuple[int, bytes] | None:
        if partition is not None:
            raw = self._local(partition).get(key)
            return None if raw is None else (partition, raw)
        for p, state in self._m._restorer.active_states(self.name):
            raw = state.get(key)
            if raw is not None:
                return p, raw
        return None

    def _write(self, partition: int, key: bytes, value: bytes | None) -> None:
        state = self._local(partition)
        # Changelog first: if the write cannot even be queued, local state has not moved ahead.
        self._m._writer.produce(self.topic, partition, key, value)
        if value is None:
            state.delete(key)
        else:
            state.put(key, value)

    def partition_of(self, key: str) -> int | None:
        """The active partition holding ``key`` in this process, if any."""
        found = self._find(key.encode(), None)
        return None if found is None else found[0]

    def raw_items(self, *, partition: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
        states = (
            [(partition, self._local(partition))]
            if partition is not None
            else self._m._restorer.active_states(self.name)
        )
        for p, state in states:
            for k, v in state.items():
                yield p, k, v

    def count(self, *, partition: int | None = None) -> int:
        if partition is not None:
            return len(self._local(partition))
        return sum(len(s) for _, s in self._m._restorer.active_states(self.name))

    def forget(self, key: str) -> int | None:
        """Tombstone ``key`` wherever this process holds it; the partition, or ``None``."""
        found = self._find(key.encode(), None)
        if found is None:
            return None
        self._write(found[0], key.encode(), None)
        return found[0]

    def evict(self, key: bytes, partition: int) -> bool:
        """Drop ``key`` from local state only (no changelog write): the changelog already holds
        the tombstone someone else wrote. True if it was there."""
        state = self._local(partition)
        if state.get(key) is None:
            return False
        state.delete(key)
        return True

    def to_json(self, raw: bytes) -> Any:
        raise NotImplementedError


class Store(_Core):
    """A key-value store: ``get``/``put``/``delete``/``items``, values through the spec's codec."""

    def __init__(self, manager: StoreManager, spec: StoreSpec, topic: str) -> None:
        super().__init__(manager, spec.name, topic, spec.backend)
        self.spec = spec
        self._codec = spec.value_codec

    def get(self, key: str, *, partition: int | None = None) -> Any | None:
        """The state of ``key`` (``None`` if absent). Without ``partition`` every active partition
        of this process is searched (a key lives in one)."""
        found = self._find(key.encode(), partition)
        return None if found is None else self._codec.decode(found[1])

    def put(self, key: str, value: Any, partition: int) -> None:
        """Set ``key``'s state on ``partition`` (the input partition the key arrives on)."""
        self._write(partition, key.encode(), self._codec.encode(value))

    def delete(self, key: str, partition: int) -> None:
        """Forget ``key`` on ``partition``: a tombstone in the changelog, gone locally."""
        self._write(partition, key.encode(), None)

    def items(self, *, partition: int | None = None) -> Iterator[tuple[str, Any]]:
        decode = self._codec.decode
        for _, k, v in self.raw_items(partition=partition):
            yield k.decode(), decode(v)

    def __len__(self) -> int:
        return self.count()

    def reduce(self, event: Any, partition: int) -> bool:
        """Fold ``event`` into its entity's state; True if a changelog record was written."""
        reducer = self.spec.reducer
        if reducer is None:
            return False
        key = self.spec.key_of(event)
        if key is None:
            return False
        k = key.encode()
        old_raw = self._local(partition).get(k)
        new = reducer(None if old_raw is None else self._codec.decode(old_raw), event)
        if new is None:
            if old_raw is None:
                return False
            self._write(partition, k, None)
            return True
        new_raw = self._codec.encode(new)
        if new_raw == old_raw:  # unchanged state: no snapshot to write
            return False
        self._write(partition, k, new_raw)
        return True

    def to_json(self, raw: bytes) -> Any:
        value = self._codec.decode(raw)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class FactStore(_Core):
    """A bi-temporal store: per key, every fact ever recorded (see ``agentstream.memory.Fact``)."""

    def __init__(self, manager: StoreManager, spec: FactStoreSpec, topic: str) -> None:
        super().__init__(manager, spec.name, topic, spec.backend)
        self.spec = spec

    def history(self, key: str, *, partition: int | None = None) -> list[Fact]:
        """All facts of ``key``, superseded ones included, by record time."""
        found = self._find(key.encode(), partition)
        return [] if found is None else decode_facts(found[1])

    def as_of(
        self,
        key: str,
        valid_time: datetime,
        *,
        known_at: datetime | None = None,
        partition: int | None = None,
    ) -> Fact | None:
        """What was true of ``key`` at ``valid_time``, as known at ``known_at`` (default: now)."""
        return as_of(self.history(key, partition=partition), valid_time, known_at=known_at)

    def current(self, key: str, *, partition: int | None = None) -> Fact | None:
        """What is true of ``key`` now, as known now."""
        return self.as_of(key, datetime.now(UTC), partition=partition)

    def assert_fact(
        self,
        key: str,
        value: Any,
        valid_from: datetime,
        partition: int,
        *,
        valid_to: datetime | None = None,
        recorded_at: datetime | None = None,
    ) -> Fact:
        """Record that ``value`` holds for ``key`` in ``[valid_from, valid_to)``; overlapping
        facts are superseded (closed), never deleted. ``recorded_at`` defaults to now."""
        facts = self.history(key, partition=partition)
        facts = assert_fact(
            facts, value, valid_from, valid_to=valid_to, recorded_at=recorded_at or _now()
        )
        self._write(partition, key.encode(), encode_facts(facts))
        new = as_of(facts, valid_from)  # the fact just recorded is what is known at valid_from
        assert new is not None
        return new

    def retract(
        self,
        key: str,
        valid_from: datetime,
        partition: int,
        *,
        valid_to: datetime | None = None,
        recorded_at: datetime | None = None,
    ) -> None:
        """Record that nothing holds for ``key`` in ``[valid_from, valid_to)`` (history is kept)."""
        facts = self.history(key, partition=partition)
        facts = retract_fact(
            facts, valid_from, valid_to=valid_to, recorded_at=recorded_at or _now()
        )
        self._write(partition, key.encode(), encode_facts(facts))

    def reduce(self, event: Any, partition: int) -> bool:
        if self.spec.fact_of is None:
            return False
        a = self.spec.fact_of(event)
        if a is None:
            return False
        self.assert_fact(
            a.key, a.value, a.valid_from, partition, valid_to=a.valid_to, recorded_at=a.recorded_at
        )
        return True

    def to_json(self, raw: bytes) -> Any:
        return [f.to_json() for f in decode_facts(raw)]


def _now() -> datetime:
    return datetime.now(UTC)


class StoreManager:
    """An agent's memory stores.

    - ``agent``: the agent's name (changelog topics are ``<prefix>memory.<agent>.<store>``).
    - ``specs``: ``StoreSpec``/``FactStoreSpec`` declarations.
    - ``writer``: where changelog records go (``KafkaChangelogWriter`` or the runtime's producer).
    - ``settings``: how to reach Kafka for restores; default ``KafkaSettings()`` from the env.
    - ``state_dir``: where RocksDB stores live while the process runs; default a temporary
      directory removed by ``close``. One directory belongs to one process.
    - ``durable_dir``: a durable state directory instead (``MemorySettings.state_dir``): each
      partition of a ``backend="rocksdb"`` store lives in
      ``<durable_dir>/<agent>/<store>/<partition>`` with a local checkpoint, survives revokes
      and restarts, and an assignment reads only the changelog past the checkpoint. The agent's
      directory is locked (``StateDirLockedError`` for a second user). Stores with
      ``backend="memory"`` still restore in full.
    - ``checkpoint_max_age``: see ``MemorySettings.checkpoint_max_age`` (default 12 h).
    - ``prune_after``: on start, remove partition databases last used longer ago than this
      (default: keep all; ``MemorySettings.prune_after``).
    - ``topic_prefix``: default ``settings.topic_prefix``.
    - ``restore_timeout``: deadline of one partition's restore (all its stores), default 10 min.
    - ``restore_concurrency``: partitions restored at once, default 4.
    - ``source``: where restores read from; default the changelog topics on Kafka (tests pass
      a fake).
    """

    def __init__(
        self,
        agent: str,
        specs: Sequence[AnySpec],
        *,
        writer: ChangelogWriter,
        settings: KafkaSettings | None = None,
        state_dir: Path | None = None,
        topic_prefix: str | None = None,
        restore_timeout: timedelta = timedelta(minutes=10),
        restore_concurrency: int = 4,
        source: ChangelogSource | None = None,
        durable_dir: Path | None = None,
        checkpoint_max_age: timedelta = timedelta(hours=12),
        prune_after: timedelta | None = None,
    ) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"store names must be unique, got {names}")
        self.agent = agent
        self.durable_dir = durable_dir
        # Taken first: a second process on the directory must fail before touching anything.
        self._dir_lock = None if durable_dir is None else StateDirLock(durable_dir, agent)
        if durable_dir is not None and prune_after is not None:
            for gone in prune(durable_dir, agent, older_than=prune_after.total_seconds()):
                log.info("removed local state %s, unused for over %s", gone, prune_after)
        self._settings = settings or KafkaSettings()
        prefix = self._settings.topic_prefix if topic_prefix is None else topic_prefix
        self._writer = writer
        self._own_dir = (
            state_dir is None and durable_dir is None and any(s.backend == "rocksdb" for s in specs)
        )
        self._state_dir = _own_state_dir(agent) if self._own_dir else state_dir
        self._stores: dict[str, Store | FactStore] = {}
        for spec in specs:
            topic = changelog_topic(agent, spec.name, prefix=prefix)
            self._stores[spec.name] = (
                Store(self, spec, topic)
                if isinstance(spec, StoreSpec)
                else FactStore(self, spec, topic)
            )
        if self._state_dir is not None and not self._own_dir:
            # Leftovers of an earlier run of this process are stale: restore rebuilds them.
            for name in names:
                shutil.rmtree(self._state_dir / name, ignore_errors=True)
        self._restorer = Restorer(
            [
                RestoreJob(s.name, s.topic, self._state_factory(s), self._durable_path(s))
                for s in self._stores.values()
            ],
            source
            or KafkaChangelogSource(
                self._settings.client_config(), group=f"{prefix}memory.{agent}.restore"
            ),
            timeout=restore_timeout,
            concurrency=restore_concurrency,
            max_age=checkpoint_max_age,
        )

    def _durable_path(self, core: _Core) -> Any:
        root = self.durable_dir
        if root is None or core.backend != "rocksdb":
            return None
        agent, store = self.agent, core.name

        def path(partition: int) -> Path:
            return partition_dir(root, agent, store, partition)

        return path

    def _state_factory(self, core: _Core) -> Any:
        def make(partition: int) -> LocalState:
            return open_state(
                core.backend,
                state_dir=self._state_dir or Path(tempfile.gettempdir()),
                store=core.name,
                partition=partition,
            )

        return make

    # -- stores ----------------------------------------------------------------------------------
    @property
    def topics(self) -> list[str]:
        """The changelog topics of every store (create them with ``ensure_changelog_topics``)."""
        return [s.topic for s in self._stores.values()]

    @property
    def names(self) -> list[str]:
        return list(self._stores)

    def _core(self, name: str) -> Store | FactStore:
        try:
            return self._stores[name]
        except KeyError:
            raise UnknownStoreError(
                f"agent {self.agent!r} has no memory store {name!r}; known: "
                f"{', '.join(self._stores) or '(none)'}"
            ) from None

    def store(self, name: str) -> Store:
        """The key-value store ``name``."""
        core = self._core(name)
        if not isinstance(core, Store):
            raise UnknownStoreError(f"store {name!r} is a fact store; use manager.facts({name!r})")
        return core

    def facts(self, name: str) -> FactStore:
        """The bi-temporal fact store ``name``."""
        core = self._core(name)
        if not isinstance(core, FactStore):
            raise UnknownStoreError(f"store {name!r} is a key-value store; use manager.store()")
        return core

    def any_store(self, name: str) -> Store | FactStore:
        return self._core(name)

    # -- partitions ------------------------------------------------------------------------------
    def begin_assign(self, partitions: Iterable[int]) -> dict[int, Future[bool]]:
        """Start restoring ``partitions`` without waiting (safe in a rebalance callback).

        Each future resolves to True once the partition is ACTIVE, False if it was revoked first,
        or raises ``RestoreError``/``ChangelogPartitionError``.
        """
        return self._restorer.begin(partitions)

    async def assign(self, partitions: Iterable[int]) -> set[int]:
        """Restore ``partitions`` (from each changelog's beginning to its current end) and return
        those now ACTIVE; ones revoked meanwhile are left out. Cancelling the caller does not stop
        the restores: ``revoke`` does."""
        futures = self.begin_assign(partitions)
        results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures.values()))
        return {p for p, ok in zip(futures, results, strict=True) if ok}

    def assign_blocking(
        self, partitions: Iterable[int], *, timeout: timedelta = timedelta(minutes=10)
    ) -> set[int]:
        """``assign`` for synchronous code: waits at most ``timeout`` (then ``TimeoutError``)."""
        futures = self.begin_assign(partitions)
        return {p for p, f in futures.items() if f.result(timeout=timeout.total_seconds())}

    def revoke(self, partitions: Iterable[int]) -> None:
        """Cancel restores in progress and drop local state of ``partitions`` (returns at once)."""
        self._restorer.revoke(partitions)

    def is_ready(self, partition: int) -> bool:
        """True when ``partition`` is restored and its events may be handled."""
        return self._restorer.status(partition) is PartitionStatus.ACTIVE

    def status(self, partition: int) -> PartitionStatus:
        return self._restorer.status(partition)

    def statuses(self) -> dict[int, PartitionStatus]:
        return self._restorer.statuses()

    def restore_progress(self, partition: int) -> int | None:
        """Changelog records read by ``partition``'s restore in progress (``None``: none running);
        for readiness probes and logs."""
        return self._restorer.progress(partition)

    def restore_stats(self, partition: int) -> RestoreStats | None:
        """How the last completed restore of ``partition`` went: records read, warm or full per
        store and why (``None`` if none completed)."""
        return self._restorer.stats(partition)

    def checkpoints(self, partition: int) -> dict[str, int]:
        """Durable store -> the changelog offset the ACTIVE ``partition``'s local state includes
        (its local checkpoint); empty for ephemeral stores or a partition not ACTIVE."""
        out: dict[str, int] = {}
        for name in self._stores:
            state = self._restorer.state(name, partition)
            cp = state.checkpoint_or_none() if isinstance(state, PersistentState) else None
            if cp is not None:
                out[name] = cp.offset
        return out

    def follow_committed(
        self, store: str, partition: int, records: Sequence[Any], *, end: int | None = None
    ) -> None:
        """Changelog records of ``store[partition]`` read back after its restore (committed, in
        order, none skipped; e.g. by the ``ForgetFollower``): moves the partition's durable local
        checkpoint forward, so a restart reads less; ``end``: the reader reached the partition's
        end there. No-op for ephemeral stores."""
        state = self._restorer.state(store, partition)
        if isinstance(state, PersistentState):
            state.follow_committed(records, end=end)

    def catch_up(
        self,
        partitions: Iterable[int] | None = None,
        *,
        timeout: timedelta = timedelta(minutes=1),
    ) -> int:
        """Move the durable local checkpoints of ``partitions`` (default: every ACTIVE one) past
        what is committed in their changelogs now, by reading it back; returns the records read.

        A running agent needs no call (its forget follower reads the changelogs and does this
        continuously); a standalone user calls it after flushing the writer, e.g. before
        ``close``, so that the next start reads less. Exact whatever is in flight: a key whose
        local value differs from its committed one stays marked (see ``_persist``)."""
        parts = (
            [p for p, s in self.statuses().items() if s is PartitionStatus.ACTIVE]
            if partitions is None
            else list(partitions)
        )
        return self._restorer.catch_up(parts, timeout=timeout)

    def restored_ends(self, partition: int) -> dict[str, int]:
        """Changelog topic -> the offset right after the last record the restore of the ACTIVE
        ``partition`` read; a follower of the changelog starts there (empty if unknown)."""
        return self._restorer.ends(partition)

    def readiness(self, partitions: Iterable[int]) -> tuple[bool, str]:
        """An ``OpsServer.add_readiness`` check: ready when every partition given is ACTIVE."""
        waiting = {p: self.status(p).value for p in partitions if not self.is_ready(p)}
        return (not waiting, "all restored" if not waiting else f"not restored: {waiting}")

    # -- events ----------------------------------------------------------------------------------
    def apply(self, event: Any, partition: int) -> int:
        """Fold ``event`` (read from input ``partition``) into every store with a reducer (or
        ``fact_of``); returns how many changelog records were written. Raises
        ``StoreNotReadyError`` if the partition is not ACTIVE."""
        return sum(core.reduce(event, partition) for core in self._stores.values())

    def forget(self, store: str, key: str) -> int | None:
        """Right to be forgotten: tombstone ``key`` in ``store`` and drop it locally. Returns the
        partition it was on, ``None`` if this process does not hold it."""
        return self._core(store).forget(key)

    def evict(self, store: str, key: str | bytes, partition: int) -> bool:
        """Drop ``key`` from ``store``'s local state of ``partition`` without writing the changelog
        (a forget tombstone is already there). True if it was held; ``StoreNotReadyError`` if the
        partition is not ACTIVE."""
        k = key.encode() if isinstance(key, str) else key
        return self._core(store).evict(k, partition)

    def close(self) -> None:
        """Stop restores, drop local state (and a temporary state directory); durable state is
        closed and kept, and its directory unlocked."""
        try:
            self._restorer.close()
        finally:
            if self._dir_lock is not None:
                self._dir_lock.release()
        if self._own_dir and self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)


_OWNER_FILE = "owner.pid"


def _own_state_dir(agent: str) -> Path:
    """A new temporary state directory for ``agent`` in this process, after removing those that
    processes of it left behind on this host (SIGKILLed: no ``close`` ran). A directory whose
    owner process still lives is kept."""
    root = Path(tempfile.gettempdir())
    for old in root.glob(f"agentstream-{agent}-*"):
        if old.is_dir() and not _owner_alive(old):
            shutil.rmtree(old, ignore_errors=True)
    new = Path(tempfile.mkdtemp(prefix=f"agentstream-{agent}-"))
    (new / _OWNER_FILE).write_text(str(os.getpid()))
    return new


def _owner_alive(state_dir: Path) -> bool:
    try:
        pid = int((state_dir / _OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False  # no owner recorded (an earlier version's, or half made): stale
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
