"""Durable local state on the real broker: a restart reads only the changelog tail and ends in the
state a cold restore builds; every doubtful checkpoint means a full restore; one process per
state directory."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)
from tests.integration.test_memory_broker import WAIT, Env, add

from agentstream.bus import make_producer
from agentstream.errors import ChangelogPartitionError, StateDirLockedError, TopicProvisionError
from agentstream.memory import (
    KafkaChangelogWriter,
    StoreManager,
    StoreSpec,
    ensure_changelog_topics,
)
from agentstream.memory._persist import Checkpoint, PersistentState, partition_dir
from agentstream.testing import delete_topics

ENTITIES = 20_000
SPEC = StoreSpec("totals", reducer=add, key_of=lambda e: e["key"], backend="rocksdb")


@pytest.fixture
def env(bootstrap_servers: str, kafka_admin: AdminClient) -> Iterator[Env]:
    e = Env(bootstrap_servers, kafka_admin)
    yield e
    e.close()


def fill(m: StoreManager, n: int, *, start: int = 0, amount: int = 1) -> None:
    """Entity ``k<i>`` on partition ``i % 2``, ``n`` of them."""
    for i in range(start, start + n):
        m.apply({"key": f"k{i}", "amount": amount}, i % 2)


def state(m: StoreManager) -> dict[int, dict[str, Any]]:
    return {p: dict(m.store("totals").items(partition=p)) for p in (0, 1)}


def cold(env: Env) -> dict[int, dict[str, Any]]:
    """What a full restore from the changelog builds (no state directory)."""
    m, _ = env.manager([SPEC])
    try:
        assert m.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
        return state(m)
    finally:
        m.close()


def records(m: StoreManager) -> int:
    total = 0
    for p in (0, 1):
        st = m.restore_stats(p)
        assert st is not None
        total += st.records
    return total


def durable(env: Env, root: Path, **kw: Any) -> tuple[StoreManager, Any]:
    m, writer = env.manager([SPEC], durable_dir=root, **kw)
    assert m.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
    return m, writer


def seeded(env: Env, root: Path) -> dict[int, dict[str, Any]]:
    """20k entities written through a durable manager whose checkpoints were moved to the end."""
    m, writer = durable(env, root)
    fill(m, ENTITIES)
    writer.flush(WAIT)
    assert m.catch_up(timeout=WAIT) == ENTITIES
    expected = state(m)
    m.close()
    return expected


def test_restart_reads_only_the_tail_and_equals_a_cold_restore(env: Env, tmp_path: Path) -> None:
    first, writer = durable(env, tmp_path)
    assert first.restore_stats(0).reasons == {"totals": "no local checkpoint"}  # type: ignore[union-attr]
    fill(first, ENTITIES)
    writer.flush(WAIT)
    assert first.catch_up(timeout=WAIT) == ENTITIES
    fill(first, 300, amount=2)  # written after the last checkpoint move: the tail
    writer.flush(WAIT)
    first.close()

    again, writer = durable(env, tmp_path)
    assert records(again) == 300
    assert all(again.restore_stats(p).warm == {"totals": True} for p in (0, 1))  # type: ignore[union-attr]
    warm = state(again)
    assert sum(len(v) for v in warm.values()) == ENTITIES
    assert warm[0]["k0"] == {"total": 3}
    again.close()
    assert warm == cold(env)

    # Another owner writes while this directory is not in use: the next start reads just that.
    other, writer = env.manager([SPEC])
    other.assign_blocking([0], timeout=WAIT)
    for i in range(0, 200, 2):
        other.apply({"key": f"k{i}", "amount": -3}, 0)  # back to 0: deleted (tombstones)
    writer.flush(WAIT)
    other.close()
    third, _ = durable(env, tmp_path)
    assert third.restore_stats(0).records == 100  # type: ignore[union-attr]
    assert third.restore_stats(1).records == 0  # type: ignore[union-attr]
    after = state(third)
    assert "k0" not in after[0] and after[0]["k200"] == {"total": 3}
    third.close()
    assert after == cold(env)


def test_revoked_partition_keeps_its_dir_and_reads_the_tail_on_reassign(
    env: Env, tmp_path: Path
) -> None:
    m, writer = durable(env, tmp_path)
    fill(m, 2_000)
    writer.flush(WAIT)
    m.catch_up(timeout=WAIT)
    m.revoke([0])
    assert partition_dir(tmp_path, env.agent, "totals", 0).is_dir()
    # While revoked, a new owner changes the partition: re-assignment must not serve stale data.
    other, w2 = env.manager([SPEC])
    other.assign_blocking([0], timeout=WAIT)
    other.apply({"key": "k0", "amount": 10}, 0)
    w2.flush(WAIT)
    other.close()
    assert m.assign_blocking([0], timeout=WAIT) == {0}
    assert m.restore_stats(0).records == 1  # type: ignore[union-attr]
    assert m.store("totals").get("k0", partition=0) == {"total": 11}
    m.close()


def corrupt_checkpoint(root: Path, agent: str, how: str) -> None:
    path = partition_dir(root, agent, "totals", 0)
    st = PersistentState(path, topic="unused", partition=0)
    cp = st.checkpoint()
    assert cp is not None
    raw: Any = st._db
    if how == "missing":
        raw.delete(b"\xffagentstream/checkpoint")
    elif how == "garbage":
        raw.put(b"\xffagentstream/checkpoint", b"{not json")
    elif how == "ahead":
        st.set_checkpoint(Checkpoint(cp.topic, 0, cp.offset + 1_000, cp.since, cp.topic_id))
    st.close()


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("missing", "no local checkpoint"),
        ("garbage", "local checkpoint unreadable"),
        ("ahead", "is ahead of the changelog's end"),
        ("files", "local state unreadable"),
    ],
)
def test_doubtful_local_state_means_a_full_restore(
    env: Env, tmp_path: Path, how: str, reason: str
) -> None:
    expected = seeded(env, tmp_path)
    if how == "files":
        path = partition_dir(tmp_path, env.agent, "totals", 0)
        for f in path.iterdir():
            if f.name.startswith(("MANIFEST", "CURRENT")) or f.suffix == ".sst":
                f.write_bytes(b"\x00garbage" * 64)
    else:
        corrupt_checkpoint(tmp_path, env.agent, how)
    m, _ = durable(env, tmp_path)
    st0, st1 = m.restore_stats(0), m.restore_stats(1)
    assert st0 is not None and st1 is not None
    assert st0.warm == {"totals": False} and reason in st0.reasons["totals"]
    assert st0.records == ENTITIES // 2  # partition 0 read in full ...
    assert st1.warm == {"totals": True} and st1.records == 0  # ... partition 1 untouched
    assert state(m) == expected
    m.close()


def test_changelog_truncated_past_the_checkpoint_means_a_full_restore(
    env: Env, tmp_path: Path, kafka_admin: AdminClient
) -> None:
    m, writer = durable(env, tmp_path)
    fill(m, 1_000)
    writer.flush(WAIT)
    m.close()  # checkpoint at the restore's end (offset 0): 500 records to read on partition 0
    topic = m.topics[0]
    # Kafka deletes records of a topic only when its cleanup policy includes "delete".
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact,delete",
                    incremental_operation=AlterConfigOpType.SET),
    ])
    kafka_admin.incremental_alter_configs([res])[res].result(30)
    # The new policy reaches the partition's leader a moment after the alter returns.
    deadline = time.monotonic() + 30
    while True:
        futures = kafka_admin.delete_records([TopicPartition(topic, 0, 10)])
        try:
            futures[TopicPartition(topic, 0, 10)].result(30)
            break
        except KafkaException as exc:
            if "POLICY_VIOLATION" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    again, _ = durable(env, tmp_path)
    st = again.restore_stats(0)
    assert st is not None and "past the local checkpoint" in st.reasons["totals"]
    assert len(state(again)[0]) == 490
    again.close()


def test_old_checkpoint_with_a_tail_means_a_full_restore(env: Env, tmp_path: Path) -> None:
    seeded(env, tmp_path)
    m, writer = durable(env, tmp_path)
    m.apply({"key": "k0", "amount": 1}, 0)
    writer.flush(WAIT)
    m.close()  # partition 0 now has one record past its checkpoint, partition 1 none
    again, _ = durable(env, tmp_path, checkpoint_max_age=timedelta(0))
    st0, st1 = again.restore_stats(0), again.restore_stats(1)
    assert st0 is not None and "compaction may have dropped" in st0.reasons["totals"]
    assert st1 is not None and st1.warm == {"totals": True}  # nothing after it: still trusted
    again.close()


class DroppingWriter:
    """Writes that never reach the changelog (a crash before the acknowledgement)."""

    def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        pass


@pytest.mark.parametrize("then", ["restart", "reload"])
def test_local_writes_that_never_committed_are_reverted(
    env: Env, tmp_path: Path, bootstrap_servers: str, then: str
) -> None:
    """``reload``: what the runtime does after an aborted transaction (revoke, assign again)."""
    expected = seeded(env, tmp_path)
    # An aborted transaction: changelog writes that read_committed restores never see ...
    m, _ = env.manager([SPEC], durable_dir=tmp_path)
    tx = make_producer(
        {"bootstrap.servers": bootstrap_servers, "transactional.id": f"{env.agent}-tx"}
    )
    tx.init_transactions(30)
    tx.begin_transaction()

    class TxWriter:
        def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
            tx.produce(topic, key=key, value=value, partition=partition)

    m._writer = TxWriter()
    assert m.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
    fill(m, 50, amount=5)  # k0..k49 changed locally and in the open transaction
    tx.flush(30)
    tx.abort_transaction(30)
    m._writer = DroppingWriter()  # ... and writes lost before they reached the broker
    m.apply({"key": "k77", "amount": 100}, 1)
    m.apply({"key": "new", "amount": 1}, 0)
    if then == "reload":
        m.revoke([0, 1])
        assert m.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
        again = m
    else:
        m.close()
        again, _ = durable(env, tmp_path)
    reverted = {p: again.restore_stats(p).reverted["totals"] for p in (0, 1)}  # type: ignore[union-attr]
    assert reverted == {0: 26, 1: 26}
    assert all(again.restore_stats(p).warm == {"totals": True} for p in (0, 1))  # type: ignore[union-attr]
    assert state(again) == expected
    again.close()


def test_two_users_of_one_state_directory_are_refused(env: Env, tmp_path: Path) -> None:
    m, _ = env.manager([SPEC], durable_dir=tmp_path)
    with pytest.raises(StateDirLockedError, match="in use by another process"):
        env.manager([SPEC], durable_dir=tmp_path)
    code = (
        "import sys; from pathlib import Path\n"
        "from agentstream.memory._persist import StateDirLock\n"
        "from agentstream.errors import StateDirLockedError\n"
        "try:\n"
        f"    StateDirLock(Path({str(tmp_path)!r}), {env.agent!r})\n"
        "except StateDirLockedError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 3, out.stderr
    assert "in use by another process" in out.stdout
    m.close()
    # Released on close: the next process may take it.
    again, _ = env.manager([SPEC], durable_dir=tmp_path)
    again.close()


def test_revoke_in_the_middle_of_a_durable_restore(env: Env, tmp_path: Path) -> None:
    expected = seeded(env, tmp_path)
    corrupt_checkpoint(tmp_path, env.agent, "missing")  # partition 0 restores in full
    m, _ = env.manager([SPEC], durable_dir=tmp_path)
    for _ in range(3):
        m.begin_assign([0, 1])
        m.revoke([0])
    assert m.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
    assert state(m) == expected
    m.close()


def test_recreated_changelog_means_a_full_restore(
    env: Env, tmp_path: Path, kafka_admin: AdminClient
) -> None:
    seeded(env, tmp_path)  # checkpoints at offset 10,000 of each partition
    topic = env.topics[0]
    delete_topics(kafka_admin, [topic])
    deadline = time.monotonic() + 60
    while True:  # deletion completes asynchronously on the broker
        try:
            ensure_changelog_topics(kafka_admin, [topic], partitions=2)
            break
        except (TopicProvisionError, ChangelogPartitionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    # More records than before, so only the topic id can tell the changelog is another one.
    writer = KafkaChangelogWriter.from_config({"bootstrap.servers": env.bootstrap})
    for i in range(24_000):
        writer.produce(topic, i % 2, b"n%d" % i, b'{"total": 1}')
    writer.flush(WAIT)
    m, _ = durable(env, tmp_path)
    st = m.restore_stats(0)
    assert st is not None and "recreated (topic id" in st.reasons["totals"], st.reasons
    assert state(m) == cold(env)
    assert len(state(m)[0]) == 12_000
    m.close()
