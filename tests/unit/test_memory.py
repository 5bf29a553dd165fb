"""Memory stores without a broker: reducers, the restore state machine, revoke mid-restore."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agentstream.errors import (
    ChangelogPartitionError,
    RestoreError,
    StoreNotReadyError,
    UnknownStoreError,
)
from agentstream.memory import (
    PartitionStatus,
    StoreManager,
    StoreSpec,
    memory_route,
    subject_of,
)

WAIT = 10.0


@dataclass
class Rec:
    k: bytes | None
    v: bytes | None

    def key(self) -> bytes | None:
        return self.k

    def value(self) -> bytes | None:
        return self.v


class FakeLog:
    """A changelog in memory: the writer appends, readers replay. ``gate`` pauses readers after
    their first batch until set, so a test can act while a restore is in the middle."""

    def __init__(self, *, batch: int = 2) -> None:
        self.records: dict[tuple[str, int], list[Rec]] = {}
        self.batch = batch
        self.gate = threading.Event()
        self.gate.set()
        self.paused = threading.Event()
        self.fail_with: BaseException | None = None
        self.lock = threading.Lock()

    # ChangelogWriter
    def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        with self.lock:
            self.records.setdefault((topic, partition), []).append(Rec(key, value))

    # ChangelogSource
    def open(self) -> FakeLog.Reader:
        return FakeLog.Reader(self)

    class Reader:
        def __init__(self, log: FakeLog) -> None:
            self.log = log

        def batches(
            self, topic: str, partition: int, *, deadline: float, cancelled: Callable[[], bool]
        ) -> Iterator[Sequence[Rec]]:
            if self.log.fail_with is not None:
                raise self.log.fail_with
            with self.log.lock:
                recs = list(self.log.records.get((topic, partition), []))
            for i in range(0, len(recs), self.log.batch):
                if cancelled():
                    return
                yield recs[i : i + self.log.batch]
                if i == 0 and not self.log.gate.is_set():
                    self.log.paused.set()
                    assert self.log.gate.wait(WAIT)

        def close(self) -> None:
            pass


def ev(subject: str, amount: int = 1) -> SimpleNamespace:
    return SimpleNamespace(meta=SimpleNamespace(subject=subject), amount=amount)


def add(state: dict[str, int] | None, e: Any) -> dict[str, int] | None:
    total = (state or {}).get("total", 0) + e.amount
    return None if total == 0 else {"total": total}


def manager(log: FakeLog, **kw: Any) -> StoreManager:
    return StoreManager(
        "agent1", [StoreSpec("totals", reducer=add)], writer=log, source=log, **kw
    )


def test_reducer_folds_and_writes_changelog_to_the_input_partition() -> None:
    log = FakeLog()
    m = manager(log)
    assert m.assign_blocking([0, 1], timeout=timedelta(seconds=WAIT)) == {0, 1}
    m.apply(ev("a", 2), 0)
    m.apply(ev("a", 3), 0)
    m.apply(ev("b", 1), 1)
    totals = m.store("totals")
    assert totals.get("a") == {"total": 5}
    assert totals.get("a", partition=0) == {"total": 5}
    assert totals.get("b") == {"total": 1}
    assert dict(totals.items()) == {"a": {"total": 5}, "b": {"total": 1}}
    assert [r.v for r in log.records[("memory.agent1.totals", 0)]] == [
        b'{"total":2}', b'{"total":5}'
    ]
    assert [r.k for r in log.records[("memory.agent1.totals", 1)]] == [b"b"]
    # A reducer returning None deletes: a tombstone, and the key is gone.
    m.apply(ev("a", -5), 0)
    assert totals.get("a") is None
    assert log.records[("memory.agent1.totals", 0)][-1] == Rec(b"a", None)
    m.close()


def test_unchanged_state_writes_nothing_and_unkeyed_events_are_ignored() -> None:
    log = FakeLog()
    m = StoreManager(
        "agent1",
        [StoreSpec("seen", reducer=lambda s, e: {"seen": True})],
        writer=log,
        source=log,
    )
    m.assign_blocking([0])
    assert m.apply(ev("x"), 0) == 1
    assert m.apply(ev("x"), 0) == 0
    assert m.apply(SimpleNamespace(meta=SimpleNamespace(subject=None)), 0) == 0
    assert len(log.records[("memory.agent1.seen", 0)]) == 1
    m.close()


def test_restore_rebuilds_exactly_the_partition_state() -> None:
    log = FakeLog()
    first = manager(log)
    first.assign_blocking([0, 1])
    for i in range(20):
        first.apply(ev(f"k{i % 4}", i + 1), i % 2)
    first.forget("totals", "k1")
    expected = {p: dict(first.store("totals").items(partition=p)) for p in (0, 1)}
    first.close()

    second = manager(log)
    assert second.assign_blocking([1]) == {1}
    assert dict(second.store("totals").items(partition=1)) == expected[1]
    assert "k1" not in expected[1] and second.store("totals").get("k1") is None
    # Partition 0 is not owned: reading it is an error, not an empty answer.
    with pytest.raises(StoreNotReadyError):
        second.store("totals").get("k0", partition=0)
    with pytest.raises(StoreNotReadyError):
        second.apply(ev("k0"), 0)
    second.close()


def test_revoke_during_restore_discards_the_attempt_and_reassign_is_correct() -> None:
    log = FakeLog(batch=1)
    for i in range(6):
        log.produce("memory.agent1.totals", 0, f"p0-{i}".encode(), b'{"total":1}')
        log.produce("memory.agent1.totals", 1, f"p1-{i}".encode(), b'{"total":2}')
    m = manager(log)
    log.gate.clear()
    futures = m.begin_assign([0])
    assert log.paused.wait(WAIT)
    assert m.status(0) is PartitionStatus.RESTORING and not m.is_ready(0)
    m.revoke([0])
    assert m.status(0) is PartitionStatus.REVOKED
    assert futures[0].result(WAIT) is False
    # Now partition 1 arrives and the old attempt is let go: nothing of partition 0 may appear.
    log.gate.set()
    assert m.assign_blocking([1]) == {1}
    assert set(dict(m.store("totals").items())) == {f"p1-{i}" for i in range(6)}
    assert m.status(0) is PartitionStatus.REVOKED
    # And assigning 0 again restores it fully, from a fresh state.
    assert m.assign_blocking([0]) == {0}
    assert dict(m.store("totals").items(partition=0)) == {f"p0-{i}": {"total": 1} for i in range(6)}
    m.close()


def test_reassign_while_restoring_supersedes_the_old_attempt() -> None:
    log = FakeLog(batch=1)
    for i in range(4):
        log.produce("memory.agent1.totals", 0, f"k{i}".encode(), b'{"total":1}')
    m = manager(log)
    log.gate.clear()
    old = m.begin_assign([0])[0]
    assert log.paused.wait(WAIT)
    m.revoke([0])
    log.paused.clear()
    new = m.begin_assign([0])[0]
    assert new is not old
    log.gate.set()
    assert old.result(WAIT) is False
    assert new.result(WAIT) is True
    assert m.store("totals").count(partition=0) == 4
    m.close()


def test_assign_of_an_active_partition_is_a_no_op_and_async_assign_works() -> None:
    log = FakeLog()
    m = manager(log)

    async def go() -> tuple[set[int], set[int]]:
        return await m.assign([0, 1]), await m.assign([1])

    assert asyncio.run(go()) == ({0, 1}, {1})
    assert m.statuses() == {0: PartitionStatus.ACTIVE, 1: PartitionStatus.ACTIVE}
    m.close()


def test_restore_failure_marks_partition_failed_and_raises() -> None:
    log = FakeLog()
    log.fail_with = ChangelogPartitionError("no changelog partition 3")
    m = manager(log)
    with pytest.raises(ChangelogPartitionError):
        m.assign_blocking([3])
    assert m.status(3) is PartitionStatus.FAILED
    log.fail_with = None
    assert m.assign_blocking([3]) == {3}
    m.close()


def test_restore_deadline_raises_restore_error() -> None:
    log = FakeLog()
    log.fail_with = RestoreError("deadline")
    m = manager(log, restore_timeout=timedelta(seconds=1))
    with pytest.raises(RestoreError):
        m.assign_blocking([0])
    m.close()


def test_rocksdb_backend_restores_and_cleans_up(tmp_path: Path) -> None:
    log = FakeLog(batch=3)
    spec = StoreSpec("totals", reducer=add, backend="rocksdb")
    m = StoreManager("agent1", [spec], writer=log, source=log, state_dir=tmp_path)
    m.assign_blocking([0])
    for i in range(10):
        m.apply(ev(f"k{i % 3}", 1), 0)
    m.apply(ev("k0", -4), 0)  # total 0 -> deleted
    assert dict(m.store("totals").items()) == {"k1": {"total": 3}, "k2": {"total": 3}}
    m.close()
    assert not any((tmp_path / "totals").iterdir())

    again = StoreManager("agent1", [spec], writer=log, source=log, state_dir=tmp_path)
    again.assign_blocking([0])
    assert dict(again.store("totals").items()) == {"k1": {"total": 3}, "k2": {"total": 3}}
    again.revoke([0])
    assert not any((tmp_path / "totals").iterdir())
    again.close()


def test_unknown_store_and_duplicate_names_are_errors() -> None:
    log = FakeLog()
    m = manager(log)
    with pytest.raises(UnknownStoreError, match="known: totals"):
        m.store("nope")
    with pytest.raises(UnknownStoreError):
        m.facts("totals")
    with pytest.raises(ValueError, match="unique"):
        StoreManager("a", [StoreSpec("x"), StoreSpec("x")], writer=log, source=log)
    with pytest.raises(ValueError, match="store name"):
        StoreSpec("bad name")
    m.close()


def test_subject_of_reads_records_and_dicts() -> None:
    assert subject_of(ev("s1")) == "s1"
    assert subject_of({"meta": {"subject": "s2"}}) == "s2"
    assert subject_of(object()) is None


def test_http_route_reads_live_state() -> None:
    log = FakeLog()
    m = manager(log)
    m.assign_blocking([0, 1])
    m.apply(ev("team/a", 4), 1)
    route = memory_route(m)
    status, body = route("", {})
    assert status == 200 and body["stores"]["totals"]["entities"] == 1
    assert body["partitions"] == {"0": "active", "1": "active"}
    assert route("totals/team%2Fa", {}) == (
        200, {"store": "totals", "key": "team/a", "partition": 1, "value": {"total": 4}}
    )
    assert route("totals", {"limit": ["10"]}) == (200, {"store": "totals", "keys": ["team/a"]})
    assert route("totals/zzz", {})[0] == 404
    assert route("nope/x", {})[0] == 404
    m.revoke([1])
    assert route("totals/team%2Fa", {})[0] == 404
    m.close()


def test_temporary_rocksdb_dirs_of_dead_processes_are_reclaimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = tmp_path / "agentstream-agent1-killed"
    (killed / "totals").mkdir(parents=True)
    (killed / "owner.pid").write_text(str(dead.pid))
    unowned = tmp_path / "agentstream-agent1-unowned"
    unowned.mkdir()
    alive = tmp_path / "agentstream-agent1-alive"
    alive.mkdir()
    (alive / "owner.pid").write_text(str(os.getppid()))  # our parent lives on
    other = tmp_path / "agentstream-agent2-killed"
    other.mkdir()
    (other / "owner.pid").write_text(str(dead.pid))

    log = FakeLog()
    m = StoreManager("agent1", [StoreSpec("totals", reducer=add, backend="rocksdb")],
                     writer=log, source=log)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "agentstream-agent1-killed" not in left and "agentstream-agent1-unowned" not in left
    assert "agentstream-agent1-alive" in left, "a live process keeps its directory"
    assert "agentstream-agent2-killed" in left, "another agent's directories are its own"
    mine = [p for p in tmp_path.glob("agentstream-agent1-*") if p != alive]
    assert len(mine) == 1 and (mine[0] / "owner.pid").read_text() == str(os.getpid())
    m.close()
    assert not mine[0].exists()
