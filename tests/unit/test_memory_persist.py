"""Durable local state without a broker: whatever mix of committed, aborted and lost writes,
follower read-backs and restarts, a tail restore from the local checkpoint ends in the fold of
the committed changelog."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentstream.errors import RestoreError, StateDirLockedError
from agentstream.memory._persist import (
    Checkpoint,
    PersistentState,
    StateDirLock,
    partition_dir,
    prune,
)


@dataclass(frozen=True)
class Rec:
    _offset: int
    _key: bytes
    _value: bytes | None

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)


def fold(log: list[Rec]) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for r in log:
        if r.value() is None:
            out.pop(r.key(), None)
        else:
            out[r.key()] = r.value()  # type: ignore[assignment]
    return out


def restore(path: Path, log: list[Rec]) -> PersistentState:
    """What the restorer does with a trusted checkpoint: the tail, then ``finish``."""
    st = PersistentState(path, topic="t", partition=0)
    cp = st.checkpoint()
    start = 0 if cp is None else cp.offset
    tail = [r for r in log if r.offset() >= start]
    for i in range(0, len(tail), 7):
        chunk = tail[i : i + 7]
        st.apply_tail(chunk, Checkpoint("t", 0, chunk[-1].offset() + 1, 0.0))
    st.finish(Checkpoint("t", 0, len(log), 0.0))
    return st


@pytest.mark.parametrize("seed", range(4))
def test_tail_restore_equals_the_fold_of_the_committed_log(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    path = tmp_path / "db"
    log: list[Rec] = []
    st = restore(path, log)
    followed = 0  # how much of the log the follower read back so far
    for _ in range(250):
        op = rnd.random()
        key = b"k%d" % rnd.randrange(20)
        if op < 0.55:  # a handler write; most commit, some are aborted or lost
            value = None if rnd.random() < 0.2 else b"v%d" % rnd.randrange(1000)
            (st.delete(key) if value is None else st.put(key, value))
            if rnd.random() < 0.75:
                log.append(Rec(len(log), key, value))
        elif op < 0.65:  # somebody else's write (a forget from outside): not applied locally
            log.append(Rec(len(log), key, None))
        elif op < 0.85 and followed < len(log):  # the follower reads some committed records
            upto = rnd.randrange(followed, len(log)) + 1
            at_end = upto == len(log) and rnd.random() < 0.5
            st.follow_committed(log[followed:upto], end=len(log) if at_end else None)
            followed = upto
        elif op < 0.95:  # a restart (clean) or a re-assignment
            st.close()
            st = restore(path, log)
            followed = len(log)
            assert dict(st.items()) == fold(log)
            assert st.dirty == 0
        else:  # a crash: nothing flushed, the files stay as they are
            st._db.close()
            st._closed = True
            st = restore(path, log)
            followed = len(log)
            assert dict(st.items()) == fold(log)
    st.close()
    final = restore(path, log)
    assert dict(final.items()) == fold(log)
    final.close()


def child(path: str, seed: int, steps: int, log_file: str) -> None:
    """In a child process: handler writes, follower read-backs and clean restarts, then SIGKILL
    (no flush: the memtable since the last restart is lost, as in a real crash)."""
    rnd = random.Random(seed)
    log: list[Rec] = []
    st = restore(Path(path), log)
    followed = 0
    for step in range(steps):
        key = b"k%d" % rnd.randrange(15)
        value = None if rnd.random() < 0.2 else b"v%d" % step
        (st.delete(key) if value is None else st.put(key, value))
        if rnd.random() < 0.7:
            log.append(Rec(len(log), key, value))
        if rnd.random() < 0.2:  # the follower reads back all committed so far, none skipped
            st.follow_committed(log[followed:])
            followed = len(log)
        if rnd.random() < 0.05:
            st.close()
            st = restore(Path(path), log)
            followed = len(log)
    Path(log_file).write_text(json.dumps([[r.key().decode(), r.value() and r.value().decode()]
                                          for r in log]))
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_leaves_a_state_the_tail_restore_repairs(tmp_path: Path, seed: int) -> None:
    path, log_file = tmp_path / "db", tmp_path / "log.json"
    code = (f"from tests.unit.test_memory_persist import child; "
            f"child({str(path)!r}, {seed}, 300, {str(log_file)!r})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                          check=False, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    log = [Rec(i, k.encode(), None if v is None else v.encode())
           for i, (k, v) in enumerate(json.loads(log_file.read_text()))]
    st = restore(path, log)
    assert dict(st.items()) == fold(log) and st.dirty == 0
    st.close()


def test_meta_keys_stay_out_of_the_data(tmp_path: Path) -> None:
    st = PersistentState(tmp_path / "db", topic="t", partition=0)
    st.apply_tail([Rec(0, b"a", b"1")], Checkpoint("t", 0, 1, 0.0))
    st.put(b"b", b"2")
    st.put(b"c", b"3")
    st.delete(b"a")
    assert st.dirty == 3 and st.finish(Checkpoint("t", 0, 1, 0.0)) == 3  # none committed
    assert dict(st.items()) == {b"a": b"1"}
    st.put(b"b", b"2")
    assert dict(st.items()) == {b"a": b"1", b"b": b"2"} and len(st) == 2
    assert st.checkpoint() == Checkpoint("t", 0, 1, 0.0)
    with pytest.raises(RestoreError, match="0xFF"):
        st.put(b"\xffagentstream/checkpoint", b"x")
    st.close()


def test_checkpoint_round_trip_and_garbage() -> None:
    cp = Checkpoint("memory.a.s", 3, 42, 1.5, "id")
    assert Checkpoint.decode(cp.encode()) == cp
    for raw in (b"{", b"[]", b'{"topic": "t"}', b'{"topic":"t","partition":0,"offset":-1,'
                b'"since":0,"topic_id":null,"version":1}'):
        with pytest.raises(ValueError):
            Checkpoint.decode(raw)


def test_state_dir_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    lock = StateDirLock(tmp_path, "agent")
    with pytest.raises(StateDirLockedError, match=r"in use by another process \(pid \d+\)"):
        StateDirLock(tmp_path, "agent")
    other = StateDirLock(tmp_path, "other-agent")  # per agent
    lock.release()
    StateDirLock(tmp_path, "agent").release()
    other.release()


def test_prune_removes_only_databases_unused_for_long(tmp_path: Path) -> None:
    old = partition_dir(tmp_path, "agent", "s", 0)
    recent = partition_dir(tmp_path, "agent", "s", 1)
    for path in (old, recent):
        PersistentState(path, topic="t", partition=0).close()
    week_ago = time.time() - 7 * 86400
    os.utime(old / "agentstream-used", (week_ago, week_ago))
    assert prune(tmp_path, "agent", older_than=86400) == [old]
    assert not old.exists() and recent.is_dir()
    assert prune(tmp_path, "other", older_than=0) == []
