"""Memory stores on the real broker: restore equals fold, revoke mid-restore, forget, facts."""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.config import KafkaSettings
from agentstream.errors import ChangelogPartitionError
from agentstream.memory import (
    FactStoreSpec,
    KafkaChangelogWriter,
    PartitionStatus,
    StoreManager,
    StoreSpec,
    changelog_topic,
    ensure_changelog_topics,
    forget,
    list_keys,
    memory_route,
    read_key,
)
from agentstream.ops import OpsServer
from agentstream.testing import create_topic, delete_topics, unique_name

WAIT = timedelta(seconds=60)


def add(state: dict[str, int] | None, e: dict[str, Any]) -> dict[str, int] | None:
    total = (state or {}).get("total", 0) + e["amount"]
    return None if total == 0 else {"total": total}


def fold(events: list[tuple[str, int, int]]) -> dict[int, dict[str, dict[str, int]]]:
    """The expected state: per partition, per key, the reducer folded over the events."""
    out: dict[int, dict[str, dict[str, int]]] = {}
    for key, amount, partition in events:
        part = out.setdefault(partition, {})
        new = add(part.get(key), {"amount": amount})
        if new is None:
            part.pop(key, None)
        else:
            part[key] = new
    return out


class Env:
    """One agent's changelog topics on the broker, removed afterwards."""

    def __init__(self, bootstrap: str, admin: AdminClient, *, partitions: int = 2) -> None:
        self.bootstrap = bootstrap
        self.admin = admin
        self.agent = unique_name("mem").replace("-", "_")
        self.settings = KafkaSettings(bootstrap_servers=bootstrap)
        self.partitions = partitions
        self.topics: list[str] = []

    def manager(self, specs: list[Any], **kw: Any) -> tuple[StoreManager, KafkaChangelogWriter]:
        writer = KafkaChangelogWriter.from_config({"bootstrap.servers": self.bootstrap})
        m = StoreManager(self.agent, specs, writer=writer, settings=self.settings, **kw)
        new = [t for t in m.topics if t not in self.topics]
        if new:
            ensure_changelog_topics(self.admin, new, partitions=self.partitions)
            self.topics += new
        return m, writer

    def close(self) -> None:
        delete_topics(self.admin, self.topics)


@pytest.fixture
def env(bootstrap_servers: str, kafka_admin: AdminClient) -> Iterator[Env]:
    e = Env(bootstrap_servers, kafka_admin)
    yield e
    e.close()


events_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d/e", "é"]), st.integers(-3, 3), st.integers(0, 1)),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=events_strategy)
def test_restored_state_equals_the_fold_of_all_events(
    events: list[tuple[str, int, int]], bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    env = Env(bootstrap_servers, kafka_admin)
    try:
        spec = StoreSpec("totals", reducer=add, key_of=lambda e: e["key"])
        m, writer = env.manager([spec])
        assert m.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
        for key, amount, partition in events:
            m.apply({"key": key, "amount": amount}, partition)
        writer.flush(WAIT)
        m.close()

        again, _ = env.manager([spec])
        assert again.assign_blocking([0, 1], timeout=WAIT) == {0, 1}
        expected = fold(events)
        for p in (0, 1):
            assert dict(again.store("totals").items(partition=p)) == expected.get(p, {})
        again.close()
    finally:
        env.close()


def test_rocksdb_backend_restores_the_same_state(env: Env, tmp_path: Any) -> None:
    rng = random.Random(7)
    events = [(f"k{rng.randrange(50)}", rng.randrange(-2, 5), rng.randrange(2)) for _ in range(500)]
    spec = StoreSpec("totals", reducer=add, key_of=lambda e: e["key"], backend="rocksdb")
    m, writer = env.manager([spec], state_dir=tmp_path)
    m.assign_blocking([0, 1], timeout=WAIT)
    for key, amount, partition in events:
        m.apply({"key": key, "amount": amount}, partition)
    writer.flush(WAIT)
    m.close()
    again, _ = env.manager([spec], state_dir=tmp_path)
    again.assign_blocking([0, 1], timeout=WAIT)
    expected = fold(events)
    for p in (0, 1):
        assert dict(again.store("totals").items(partition=p)) == expected.get(p, {})
    again.close()


def test_revoke_in_the_middle_of_a_restore_neither_loses_nor_mixes_state(env: Env) -> None:
    spec = StoreSpec("big")
    m, _ = env.manager([spec])
    topic = m.topics[0]
    n0 = 300_000
    # Partition 0 gets a long changelog (each key written twice: restore must keep the last),
    # partition 1 a short one with other keys.
    _produce_to(env.bootstrap, topic, 0, ((f"p0-{i % (n0 // 2)}", i) for i in range(n0)))
    _produce_to(env.bootstrap, topic, 1, ((f"p1-{i}", i) for i in range(100)))

    futures = m.begin_assign([0])
    deadline = time.monotonic() + 30
    while not (m.restore_progress(0) or 0) > 0:
        assert time.monotonic() < deadline, "restore of partition 0 never started"
        time.sleep(0.002)
    m.revoke([0])
    assert futures[0].result(timeout=30) is False, "restore finished before it could be revoked"
    assert m.status(0) is PartitionStatus.REVOKED

    assert m.assign_blocking([1], timeout=WAIT) == {1}
    items = dict(m.store("big").items())
    assert items == {f"p1-{i}": i for i in range(100)}

    assert m.assign_blocking([0], timeout=WAIT) == {0}
    restored = dict(m.store("big").items(partition=0))
    assert len(restored) == n0 // 2
    assert restored == {f"p0-{i}": i + n0 // 2 for i in range(n0 // 2)}
    assert dict(m.store("big").items(partition=1)) == {f"p1-{i}": i for i in range(100)}
    m.close()


def _produce_to(
    bootstrap: str, topic: str, partition: int, items: Iterator[tuple[str, int]]
) -> None:
    writer = KafkaChangelogWriter.from_config(
        {"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000}
    )
    for key, value in items:
        writer.produce(topic, partition, key.encode(), json.dumps(value).encode())
    writer.flush(WAIT)


def test_forget_from_the_cli_stays_forgotten_after_restore(env: Env) -> None:
    spec = StoreSpec(
        "profiles", key_of=lambda e: e["key"], reducer=lambda s, e: {"name": e["name"]}
    )
    m, writer = env.manager([spec])
    m.assign_blocking([0, 1], timeout=WAIT)
    m.apply({"key": "user-1", "name": "Ada"}, 1)
    m.apply({"key": "user-2", "name": "Grace"}, 0)
    m.apply({"key": "user-3", "name": "Edsger"}, 1)
    writer.flush(WAIT)
    m.close()

    env_vars = {"KAFKA_BOOTSTRAP_SERVERS": env.bootstrap}
    runner = CliRunner()
    got = runner.invoke(app, ["memory", "get", env.agent, "profiles", "user-1"], env=env_vars)
    assert got.exit_code == 0, got.output
    assert json.loads(got.output) == {"name": "Ada"}
    out = runner.invoke(app, ["memory", "forget", env.agent, "profiles", "user-1"], env=env_vars)
    assert out.exit_code == 0 and "partition(s) [1]" in out.output, out.output
    gone = runner.invoke(app, ["memory", "get", env.agent, "profiles", "user-1"], env=env_vars)
    assert gone.exit_code == 3 and "forgotten" in gone.output
    listed = runner.invoke(app, ["memory", "list", env.agent, "profiles"], env=env_vars)
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["user-2", "user-3"]
    # A second forget finds nothing live to tombstone.
    assert forget(env.settings, env.agent, "profiles", "user-1", timeout=WAIT) == []

    again, _ = env.manager([spec])
    again.assign_blocking([0, 1], timeout=WAIT)
    assert again.store("profiles").get("user-1") is None
    assert dict(again.store("profiles").items()) == {
        "user-2": {"name": "Grace"}, "user-3": {"name": "Edsger"}
    }
    # Forgetting in a running agent: local state and changelog at once.
    assert again.forget("profiles", "user-2") == 0
    assert again.store("profiles").get("user-2") is None
    again.close()
    entry = read_key(env.settings, env.agent, "profiles", "user-2", timeout=WAIT)
    assert entry is not None and entry.value is None
    live = list_keys(env.settings, env.agent, "profiles", timeout=WAIT)
    assert [e.key for e in live] == ["user-3"]


def test_fact_store_answers_as_of_queries_after_restore(env: Env) -> None:
    spec = FactStoreSpec("owners")
    m, writer = env.manager([spec])
    m.assign_blocking([0, 1], timeout=WAIT)
    t = datetime(2024, 3, 1, tzinfo=UTC)
    owners = m.facts("owners")
    owners.assert_fact("svc", "alice", t, 1, recorded_at=t)
    owners.assert_fact("svc", "bob", t + timedelta(days=10), 1, recorded_at=t + timedelta(days=12))
    writer.flush(WAIT)
    m.close()

    again, _ = env.manager([spec])
    again.assign_blocking([0, 1], timeout=WAIT)
    f = again.facts("owners")
    assert f.as_of("svc", t + timedelta(days=11)).value == "bob"  # type: ignore[union-attr]
    known = f.as_of("svc", t + timedelta(days=11), known_at=t + timedelta(days=11))
    assert known is not None and known.value == "alice"
    closed = f.as_of("svc", t + timedelta(days=5))
    assert closed is not None and closed.valid_to == t + timedelta(days=10)

    ops = OpsServer(host="127.0.0.1", port=0)
    ops.add_json_route("/memory", memory_route(again))
    ops.start()
    try:
        url = f"http://127.0.0.1:{ops.port}/memory/owners/svc?valid_at=2024-03-12T00:00:00%2B00:00"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert json.load(resp)["fact"]["value"] == "bob"
    finally:
        ops.stop()
        again.close()


def test_changelog_partition_mismatch_is_a_clear_error(env: Env, kafka_admin: AdminClient) -> None:
    topic = changelog_topic(env.agent, "odd")
    create_topic(kafka_admin, topic, partitions=3, config={"cleanup.policy": "compact"})
    env.topics.append(topic)
    with pytest.raises(ChangelogPartitionError, match="has 3 partitions but its input has 2"):
        ensure_changelog_topics(kafka_admin, [topic], partitions=2)
    m = StoreManager(
        env.agent,
        [StoreSpec("odd")],
        writer=KafkaChangelogWriter.from_config({"bootstrap.servers": env.bootstrap}),
        settings=env.settings,
    )
    with pytest.raises(ChangelogPartitionError, match="partition 5"):
        m.assign_blocking([5], timeout=WAIT)
    assert m.status(5) is PartitionStatus.FAILED
    m.close()
