"""Local state of one store for one partition: a dict, or a RocksDB database for big state.

Keys and values are kept as the changelog's bytes, so restoring is a straight copy (no decode per
record: that is what makes restore fast) and a snapshot read back equals the one written. Each
partition gets its own object, so state of two partitions can never mix: revoking a partition
drops exactly its object.
"""

from __future__ import annotations

import importlib
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = ["Backend", "ChangelogRecord", "DictState", "LocalState", "RocksState", "open_state"]

Backend = Literal["memory", "rocksdb"]


class ChangelogRecord(Protocol):
    """What restore needs of a changelog record (``confluent_kafka.Message`` fits)."""

    def key(self) -> bytes | None: ...

    def value(self) -> bytes | None: ...


class LocalState(Protocol):
    """Key → snapshot bytes for one (store, partition)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def items(self) -> Iterator[tuple[bytes, bytes]]: ...

    def __len__(self) -> int: ...

    def load(self, records: Sequence[ChangelogRecord]) -> None:
        """Apply a batch of changelog records in order (``None`` value = tombstone)."""

    def destroy(self) -> None:
        """Release the state and delete whatever it kept on disk."""


class DictState:
    """In-memory state (the default): fastest, bounded by RAM, rebuilt from the changelog."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self._data[key] = value

    def delete(self, key: bytes) -> None:
        self._data.pop(key, None)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(list(self._data.items()))

    def __len__(self) -> int:
        return len(self._data)

    def load(self, records: Sequence[ChangelogRecord]) -> None:
        data = self._data
        pop = data.pop
        for m in records:
            k = m.key()
            if k is None:
                continue
            v = m.value()
            if v is None:
                pop(k, None)
            else:
                data[k] = v

    def destroy(self) -> None:
        self._data = {}


class RocksState:
    """State in a RocksDB database (``rocksdict``) under ``directory``: for state larger than RAM.

    The directory is private to one restore attempt and deleted by ``destroy``; the changelog is
    the durable copy, so the write-ahead log is off (a crash loses nothing that restore cannot
    rebuild).
    """

    def __init__(self, directory: Path) -> None:
        try:
            # Imported here: rocksdict is the optional `state` extra.
            rocksdict = importlib.import_module("rocksdict")
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError(
                "backend='rocksdb' needs rocksdict: pip install 'agentstream[state]'"
            ) from exc
        self._rocksdict: Any = rocksdict
        self._path = directory
        directory.parent.mkdir(parents=True, exist_ok=True)
        self._options = rocksdict.Options(raw_mode=True)
        self._options.create_if_missing(True)
        self._db = rocksdict.Rdict(str(directory), self._options)
        self._write_options = rocksdict.WriteOptions()
        self._write_options.disable_wal = True
        self._db.set_write_options(self._write_options)
        self._count = 0

    @property
    def path(self) -> Path:
        return self._path

    def get(self, key: bytes) -> bytes | None:
        value = self._db.get(key)
        return None if value is None else bytes(value)

    def put(self, key: bytes, value: bytes) -> None:
        self._db.put(key, value)

    def delete(self, key: bytes) -> None:
        self._db.delete(key)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        for k, v in self._db.items():
            yield bytes(k), bytes(v)

    def __len__(self) -> int:
        # RocksDB only estimates its key count; an exact count is a scan, fine for ops queries.
        return sum(1 for _ in self._db.keys())  # noqa: SIM118

    def load(self, records: Sequence[ChangelogRecord]) -> None:
        batch = self._rocksdict.WriteBatch(raw_mode=True)
        for m in records:
            k = m.key()
            if k is None:
                continue
            v = m.value()
            if v is None:
                batch.delete(k)
            else:
                batch.put(k, v)
        self._db.write(batch, self._write_options)

    def destroy(self) -> None:
        try:
            self._db.close()
        finally:
            shutil.rmtree(self._path, ignore_errors=True)


def open_state(backend: Backend, *, state_dir: Path, store: str, partition: int) -> LocalState:
    """A fresh, empty local state for one restore attempt of (store, partition)."""
    if backend == "memory":
        return DictState()
    # A unique directory per attempt: a cancelled attempt still closing its database never
    # shares files with the attempt that replaced it.
    return RocksState(state_dir / store / f"p{partition}.{uuid.uuid4().hex[:8]}")
