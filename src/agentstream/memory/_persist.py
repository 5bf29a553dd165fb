"""Durable local state: a RocksDB database per (agent, store, partition) that survives restarts.

Layout: ``<state_dir>/<agent>/<store>/<partition>/`` holds the RocksDB files; ``<state_dir>/<agent>/
LOCK`` is held (``flock``) by the one process using the agent's directory.

**What the database holds besides the data**, under keys starting with byte ``0xFF`` (which no
UTF-8 store key starts with; they sort after every data key):

- the *checkpoint*: changelog offset ``X`` (and topic, partition, topic id, a time);
- *dirty markers*: for every key changed locally since the state was last known to equal the
  changelog, the key's value at ``X`` (its *pre-image*, or "absent").

**The invariant** every write keeps, each in one atomic RocksDB write batch: let ``F(X)`` be the
fold of the committed changelog records before offset ``X``. For each key ``k``: if ``k`` is not
dirty, its local value is ``F(X)[k]``; if it is dirty, its pre-image is ``F(X)[k]``.

- A handler's write of ``k`` (``put``/``delete``) first records ``k``'s pre-image if ``k`` is not
  dirty yet (by the invariant its local value then *is* ``F(X)[k]``), then changes it.
- A restore applies committed changelog records from ``X`` on (``apply_tail``): each record sets
  its key and clears its marker, and ``X`` moves past the batch. At the end of the tail
  (``finish``), every key still dirty was changed locally by a write that never became
  committed (an aborted transaction, a crash before the acknowledgement): it gets its pre-image
  back. Then the state equals the changelog fold exactly, with no marker left.
- While the partition is owned, the changelog follower reads back what was committed
  (``follow_committed``): per record ``(k, v)``, if the local value is ``v`` the marker goes,
  else the marker's pre-image becomes ``v``; ``X`` moves past it. So ``X`` stays near the head
  and markers only cover writes still in flight.

RocksDB keeps its write-ahead log (not synced per write): a killed process loses nothing; a
machine crash may lose the newest writes, and what point-in-time recovery keeps is a prefix of the
write batches (one column family). Every prefix satisfies the invariant, so the checkpoint can
never claim more than the data holds, whatever the moment of the crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from agentstream.errors import RestoreError, StateDirLockedError, StoreNotReadyError
from agentstream.memory._backend import ChangelogRecord

__all__ = [
    "Checkpoint",
    "CorruptStateError",
    "PersistentState",
    "StateDirLock",
    "now",
    "partition_dir",
    "prune",
    "record_time",
]

log = logging.getLogger("agentstream.memory")

_META = b"\xff"
_CHECKPOINT = b"\xffagentstream/checkpoint"
_DIRTY = b"\xffagentstream/dirty/"
_PRESENT = b"\x01"
_ABSENT = b"\x00"
_VERSION = 1


def partition_dir(root: Path, agent: str, store: str, partition: int) -> Path:
    """Where one (store, partition) of ``agent`` lives under the state directory ``root``."""
    return root / agent / store / str(partition)


class CorruptStateError(Exception):
    """The local database cannot be opened or read (internal: restore falls back to a full one)."""


@dataclass(frozen=True)
class Checkpoint:
    """The changelog offset local state includes (see the module docstring).

    ``since``: a wall-clock time (epoch seconds) before which every changelog record at or after
    ``offset`` was appended, to tell whether compaction may have removed tombstones since.
    """

    topic: str
    partition: int
    offset: int
    since: float
    topic_id: str | None = None
    version: int = _VERSION

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Checkpoint:
        """Raises ``ValueError`` on anything but a checkpoint this version wrote."""
        try:
            data = json.loads(raw)
            cp = cls(**data)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"unreadable checkpoint: {exc}") from exc
        if cp.version != _VERSION or not isinstance(cp.offset, int) or cp.offset < 0:
            raise ValueError(f"unsupported checkpoint {data!r}")
        return cp


def _rocksdict() -> Any:
    try:
        # Imported here: rocksdict is the optional `state` extra.
        return importlib.import_module("rocksdict")
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "a state directory needs rocksdict: pip install 'agentstream[state]'"
        ) from exc


class PersistentState:
    """A ``LocalState`` kept in a durable RocksDB database (see the module docstring).

    Thread-safe: handler writes (event loop), the follower (its thread) and restore (a worker)
    serialise on one lock; reads go straight to RocksDB.
    """

    def __init__(self, path: Path, *, topic: str, partition: int) -> None:
        rocksdict = _rocksdict()
        self._rd: Any = rocksdict
        self.path = path
        self.topic = topic
        self.partition = partition
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_paranoid_checks(True)
        try:
            self._db = rocksdict.Rdict(str(path), options)
        except Exception as exc:  # rocksdict raises plain Exception on a damaged database
            raise CorruptStateError(f"cannot open {path}: {exc}") from exc
        # The write-ahead log is on (not synced per write): a killed process loses nothing it
        # wrote, so its restart reads only the tail; a machine crash may lose the newest writes,
        # and RocksDB's point-in-time recovery keeps a prefix of the batches.
        self._write_options = rocksdict.WriteOptions()
        self._db.set_write_options(self._write_options)
        self._closed = False
        with contextlib.suppress(OSError):
            (path / _CLOSED).touch()
        try:
            self._dirty: dict[bytes, bytes | None] = {
                bytes(k)[len(_DIRTY):]: _pre(bytes(v)) for k, v in self._db.items(from_key=_DIRTY)
                if bytes(k).startswith(_DIRTY)
            }
        except Exception as exc:
            self._db.close()
            raise CorruptStateError(f"cannot read {path}: {exc}") from exc

    # -- checkpoint --------------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint | None:
        """The stored checkpoint; ``None`` if there is none. ``ValueError`` if unreadable."""
        raw = self._db.get(_CHECKPOINT)
        return None if raw is None else Checkpoint.decode(bytes(raw))

    def checkpoint_or_none(self) -> Checkpoint | None:
        """The stored checkpoint, ``None`` if there is none or it is unreadable."""
        try:
            return self.checkpoint()
        except ValueError:
            return None

    @property
    def dirty(self) -> int:
        """Keys changed locally and not yet seen committed in the changelog."""
        return len(self._dirty)

    def set_checkpoint(self, cp: Checkpoint) -> None:
        with self._lock:
            self._db.put(_CHECKPOINT, cp.encode())

    # -- LocalState ------------------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        value = self._db.get(key)
        return None if value is None else bytes(value)

    def put(self, key: bytes, value: bytes) -> None:
        self._change(key, value)

    def delete(self, key: bytes) -> None:
        self._change(key, None)

    def _change(self, key: bytes, value: bytes | None) -> None:
        _check_key(key)
        with self._lock:
            if self._closed:
                raise StoreNotReadyError(
                    f"{self.topic}[{self.partition}]: the partition was revoked; its local state "
                    "is closed (change stores only while handling the partition's events)"
                )
            if key in self._dirty:  # its pre-image is kept already: a single write
                if value is None:
                    self._db.delete(key)
                else:
                    self._db.put(key, value)
                return
            batch = self._rd.WriteBatch(raw_mode=True)
            pre = self.get(key)
            self._dirty[key] = pre
            batch.put(_DIRTY + key, _ABSENT if pre is None else _PRESENT + pre)
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
            self._db.write(batch, self._write_options)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        for k, v in self._db.items():
            kb = bytes(k)
            if kb.startswith(_META):
                return
            yield kb, bytes(v)

    def __len__(self) -> int:
        return sum(1 for _ in self.items())

    def load(self, records: Sequence[ChangelogRecord]) -> None:
        """Apply changelog records without moving the checkpoint (``apply_tail`` does both)."""
        with self._lock:
            batch = self._tail_batch(records)
            self._db.write(batch, self._write_options)

    # -- restore and follow ----------------------------------------------------------------------
    def _tail_batch(self, records: Sequence[ChangelogRecord]) -> Any:
        batch = self._rd.WriteBatch(raw_mode=True)
        dirty = self._dirty
        for m in records:
            k = m.key()
            if k is None:
                continue
            if k[:1] == _META:
                _check_key(k)
            v = m.value()
            if v is None:
                batch.delete(k)
            else:
                batch.put(k, v)
            if dirty and k in dirty:
                del dirty[k]
                batch.delete(_DIRTY + k)
        return batch

    def apply_tail(self, records: Sequence[ChangelogRecord], cp: Checkpoint) -> None:
        """Apply a batch of committed records read in order and move the checkpoint to ``cp``,
        in one atomic write."""
        with self._lock:
            batch = self._tail_batch(records)
            batch.put(_CHECKPOINT, cp.encode())
            self._db.write(batch, self._write_options)

    def finish(self, cp: Checkpoint) -> int:
        """The tail is read to its end: give every key still dirty its pre-image back and store
        ``cp``. Returns how many keys were reverted."""
        with self._lock:
            batch = self._rd.WriteBatch(raw_mode=True)
            reverted = len(self._dirty)
            for k, pre in self._dirty.items():
                if pre is None:
                    batch.delete(k)
                else:
                    batch.put(k, pre)
                batch.delete(_DIRTY + k)
            self._dirty = {}
            batch.put(_CHECKPOINT, cp.encode())
            self._db.write(batch, self._write_options)
        return reverted

    def follow_committed(self, records: Sequence[Any], *, end: int | None = None) -> None:
        """Records of this partition read back from the changelog after ``finish`` (committed,
        in order, none skipped): markers of keys whose local value is the committed one go, the
        others take the committed value as pre-image; the checkpoint moves past the last one.
        Records before the checkpoint are ignored (read before a newer restore).

        ``end``: the reader reached the partition's end there (every committed record before it
        was passed): the checkpoint moves to it, past transaction markers, so that an idle
        partition's checkpoint stays at its end and never ages."""
        with self._lock:
            if self._closed:
                return
            raw = self._db.get(_CHECKPOINT)
            if raw is None:
                return
            cp = Checkpoint.decode(bytes(raw))
            fresh = [m for m in records if (m.offset() or 0) >= cp.offset]
            if not fresh:
                if end is not None and end > cp.offset:
                    self._db.put(_CHECKPOINT, _at_end(cp, end).encode())
                return
            batch = self._rd.WriteBatch(raw_mode=True)
            for m in fresh:
                k, v = m.key(), m.value()
                if k is None or k[:1] == _META:
                    continue
                if self.get(k) == v:
                    if k in self._dirty:
                        del self._dirty[k]
                        batch.delete(_DIRTY + k)
                else:
                    self._dirty[k] = v
                    batch.put(_DIRTY + k, _ABSENT if v is None else _PRESENT + v)
            last = fresh[-1]
            since = max(cp.since, record_time(last))
            new = Checkpoint(cp.topic, cp.partition, (last.offset() or 0) + 1, since, cp.topic_id)
            if end is not None and end > new.offset:
                new = _at_end(new, end)
            batch.put(_CHECKPOINT, new.encode())
            self._db.write(batch, self._write_options)

    # -- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Flush memtables and close; the files stay (the next owner reads only the tail)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._db.flush(True)
            finally:
                self._db.close()
            with contextlib.suppress(OSError):
                (self.path / _CLOSED).touch()

    def release(self) -> None:
        self.close()

    def destroy(self) -> None:
        """Close and delete the files (a full restore starts from nothing)."""
        with contextlib.suppress(Exception):
            self.close()
        shutil.rmtree(self.path, ignore_errors=True)


# Records past a read_committed reader's end may belong to a transaction still open, begun at
# most transaction.max.timeout.ms (Kafka's default 15 min) before it.
_OPEN_TXN = 15 * 60.0


def _at_end(cp: Checkpoint, end: int) -> Checkpoint:
    since = max(cp.since, now() - _OPEN_TXN)
    return Checkpoint(cp.topic, cp.partition, end, since, cp.topic_id)


# Touched on every open and close: when a partition's database was last used, for ``prune``.
_CLOSED = "agentstream-used"


def prune(root: Path, agent: str, *, older_than: float) -> list[Path]:
    """Remove the partition databases of ``agent`` under ``root`` last opened or closed more than
    ``older_than`` seconds ago (call it only while none is open: the agent's directory lock is
    held and nothing is assigned yet). Returns the directories removed."""
    removed: list[Path] = []
    limit = now() - older_than
    for marker in sorted((root / agent).glob(f"*/*/{_CLOSED}")):
        try:
            stale = marker.stat().st_mtime < limit
        except OSError:
            continue
        if stale:
            shutil.rmtree(marker.parent, ignore_errors=True)
            removed.append(marker.parent)
    return removed


def _pre(raw: bytes) -> bytes | None:
    return None if raw[:1] == _ABSENT else raw[1:]


def _check_key(key: bytes) -> None:
    if key[:1] == _META:
        raise RestoreError(
            f"store key {key[:40]!r} starts with byte 0xFF, which durable local state reserves; "
            "store keys are UTF-8 text"
        )


def record_time(m: Any) -> float:
    """A record's timestamp in epoch seconds (0 when the record has none)."""
    ts = getattr(m, "timestamp", None)
    if ts is None:
        return 0.0
    kind, ms = ts()
    return ms / 1000 if kind and ms and ms > 0 else 0.0


def now() -> float:
    return time.time()


class StateDirLock:
    """An exclusive ``flock`` on ``<root>/<agent>/LOCK`` for the life of one ``StoreManager``.

    A second process (or a second manager in this one) opening the same agent directory gets
    ``StateDirLockedError`` naming the holder's pid. The lock goes with the process, so a
    SIGKILLed holder never leaves it behind.
    """

    def __init__(self, root: Path, agent: str) -> None:
        self.path = root / agent / "LOCK"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self.path.open("a+")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            self._file = None
            raise StateDirLockedError(
                f"state directory {self.path.parent} of agent {agent!r} is in use by another "
                f"process (pid {holder}); give each process of the agent its own directory "
                "(AGENTSTREAM_MEMORY_STATE_DIR), or stop the other process first"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
