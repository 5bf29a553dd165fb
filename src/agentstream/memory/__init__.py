"""Event-sourced agent memory: state is a fold over the event stream, kept in compacted topics.

An agent declares stores; each holds per-entity state, changed by a reducer
``reduce(state, event) -> state`` (``None`` deletes) or by hand, and every change is written to the
store's compacted changelog ``memory.<agent>.<store>``, co-partitioned with the input. On partition
assignment the store restores that partition from its changelog before the partition's events are
handled, so an agent that restarts, moves or gets new partitions remembers what it knew::

    counts = StoreSpec("counts", reducer=lambda n, e: (n or 0) + 1)
    manager = StoreManager("risk", [counts], writer=KafkaChangelogWriter.from_config(conf))
    await manager.assign([0, 1])        # restored
    manager.apply(event, partition=0)   # folded, changelog written
    manager.store("counts").get("repo/42")

``FactStoreSpec`` declares a bi-temporal store (facts with valid and record time). ``read_key``,
``list_keys`` and ``forget`` work on the changelog from outside (the ``agentstream memory`` CLI);
a running owner's ``ForgetFollower`` evicts forgotten keys at once; ``memory_route`` serves reads
on the agent's ops port. With a durable state directory (``MemorySettings.state_dir``) RocksDB
stores survive restarts and a start reads only the changelog past each local checkpoint. See
docs/memory.md.
"""

from __future__ import annotations

from agentstream.memory._backend import Backend, DictState, LocalState, RocksState
from agentstream.memory._changelog import (
    ChangelogReader,
    ChangelogSource,
    ChangelogWriter,
    KafkaChangelogSource,
    KafkaChangelogWriter,
    ensure_changelog_topics,
)
from agentstream.memory._codec import BytesCodec, Codec, JsonCodec
from agentstream.memory._facts import Fact, as_of, assert_fact, retract_fact
from agentstream.memory._follow import ForgetFollower, ForgetNotice, is_forget
from agentstream.memory._http import memory_route
from agentstream.memory._manager import FactStore, Store, StoreManager
from agentstream.memory._persist import Checkpoint
from agentstream.memory._query import (
    FORGET_ECHO,
    FORGET_HEADER,
    ChangelogEntry,
    decode_value,
    forget,
    list_keys,
    read_key,
)
from agentstream.memory._restore import PartitionStatus, RestoreStats
from agentstream.memory._settings import MemorySettings
from agentstream.memory._spec import (
    FactAssertion,
    FactStoreSpec,
    StoreSpec,
    changelog_topic,
    subject_of,
)

__all__ = [
    "FORGET_ECHO",
    "FORGET_HEADER",
    "Backend",
    "BytesCodec",
    "ChangelogEntry",
    "ChangelogReader",
    "ChangelogSource",
    "ChangelogWriter",
    "Checkpoint",
    "Codec",
    "DictState",
    "Fact",
    "FactAssertion",
    "FactStore",
    "FactStoreSpec",
    "ForgetFollower",
    "ForgetNotice",
    "JsonCodec",
    "KafkaChangelogSource",
    "KafkaChangelogWriter",
    "LocalState",
    "MemorySettings",
    "PartitionStatus",
    "RestoreStats",
    "RocksState",
    "Store",
    "StoreManager",
    "StoreSpec",
    "as_of",
    "assert_fact",
    "changelog_topic",
    "decode_value",
    "ensure_changelog_topics",
    "forget",
    "is_forget",
    "list_keys",
    "memory_route",
    "read_key",
    "retract_fact",
    "subject_of",
]
