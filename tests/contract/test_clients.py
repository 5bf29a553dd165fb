"""Client-level semantics the platform relies on, asserted on Kafka and on the in-memory bus."""

from __future__ import annotations

import time
import zlib
from datetime import timedelta

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from agentstream.bus import make_consumer, make_producer
from agentstream.testing import consume_until, consumer, produce, unique_name

pytestmark = pytest.mark.timeout(120)


def _values(msgs: list) -> list[bytes]:
    return [m.value() for m in msgs if m.error() is None]


def test_keys_keep_their_partition_and_order(bootstrap_servers: str, topic_factory) -> None:
    topic = topic_factory(partitions=4)
    records = [(f"k{i % 7}".encode(), f"{i % 7}:{i}".encode()) for i in range(140)]
    produce(bootstrap_servers, topic, records)
    with consumer(bootstrap_servers) as c:
        c.subscribe([topic])
        got = consume_until(c, count=140, timeout=timedelta(seconds=60))
    by_key: dict[bytes, list[int]] = {}
    for m in got:
        # librdkafka's default partitioner (consistent_random): CRC-32 of the key.
        assert m.partition() == zlib.crc32(m.key()) % 4
        by_key.setdefault(m.key(), []).append(int(m.value().split(b":")[1]))
    assert all(seq == sorted(seq) and len(seq) == 20 for seq in by_key.values())


def test_a_group_resumes_from_its_committed_offset(bootstrap_servers: str, topic_factory) -> None:
    topic = topic_factory()
    produce(bootstrap_servers, topic, [(None, str(i).encode()) for i in range(10)])
    group = unique_name("g")
    with consumer(bootstrap_servers, group=group) as c:
        c.subscribe([topic])
        first = consume_until(c, count=10, timeout=timedelta(seconds=60))
        c.commit(offsets=[TopicPartition(topic, 0, 6)], asynchronous=False)
        assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 6
    assert _values(first) == [str(i).encode() for i in range(10)]
    with consumer(bootstrap_servers, group=group) as c:
        c.subscribe([topic])
        again = consume_until(c, count=4, timeout=timedelta(seconds=60))
    assert _values(again) == [b"6", b"7", b"8", b"9"]


def _txn_producer(bootstrap: str, tid: str):
    p = make_producer({"bootstrap.servers": bootstrap, "transactional.id": tid})
    p.init_transactions(30)
    return p


def test_read_committed_sees_committed_transactions_only(
    bootstrap_servers: str, topic_factory
) -> None:
    topic = topic_factory()
    p = _txn_producer(bootstrap_servers, unique_name("tx"))
    p.begin_transaction()
    p.produce(topic, b"aborted")
    p.flush(10)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(topic, b"committed")
    p.commit_transaction(30)
    produce(bootstrap_servers, topic, [(None, b"plain")])
    with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([topic])
        committed = consume_until(c, count=2, timeout=timedelta(seconds=60))
        committed += c.consume(num_messages=10, timeout=1)
    with consumer(bootstrap_servers, **{"isolation.level": "read_uncommitted"}) as c:
        c.subscribe([topic])
        everything = consume_until(c, count=3, timeout=timedelta(seconds=60))
    assert _values(committed) == [b"committed", b"plain"]
    assert _values(everything) == [b"aborted", b"committed", b"plain"]


def test_an_open_transaction_holds_back_read_committed_readers(
    bootstrap_servers: str, topic_factory
) -> None:
    topic = topic_factory()
    p = _txn_producer(bootstrap_servers, unique_name("tx"))
    p.begin_transaction()
    p.produce(topic, b"in-txn")
    p.flush(10)
    produce(bootstrap_servers, topic, [(None, b"after")])  # not transactional, after the open one
    with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([topic])
        held = c.consume(num_messages=10, timeout=3)
        assert _values(held) == []
        p.commit_transaction(30)
        got = consume_until(c, count=2, timeout=timedelta(seconds=60))
    assert _values(got) == [b"in-txn", b"after"]


def test_a_second_producer_with_the_same_transactional_id_fences_the_first(
    bootstrap_servers: str, topic_factory
) -> None:
    topic = topic_factory()
    tid = unique_name("tx")
    zombie = _txn_producer(bootstrap_servers, tid)
    zombie.begin_transaction()
    zombie.produce(topic, b"zombie")
    zombie.flush(10)
    successor = _txn_producer(bootstrap_servers, tid)
    with pytest.raises(KafkaException) as caught:
        zombie.commit_transaction(30)
    err = caught.value.args[0]
    assert err.fatal() or err.code() in {KafkaError._FENCED, KafkaError.INVALID_PRODUCER_EPOCH}
    successor.begin_transaction()
    successor.produce(topic, b"successor")
    successor.commit_transaction(30)
    with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([topic])
        got = consume_until(c, count=1, timeout=timedelta(seconds=60))
        got += c.consume(num_messages=10, timeout=1)
    assert _values(got) == [b"successor"]


def test_partition_eof_is_reported_once_per_end(bootstrap_servers: str, topic_factory) -> None:
    topic = topic_factory()
    produce(bootstrap_servers, topic, [(None, b"a"), (None, b"b")])
    c = make_consumer({"bootstrap.servers": bootstrap_servers, "group.id": unique_name("g"),
                       "enable.partition.eof": True, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while seen.count("eof") < 1 and time.monotonic() < deadline:
            for m in c.consume(num_messages=10, timeout=0.5):
                err = m.error()
                seen.append("eof" if err is not None and err.code() ==
                            KafkaError._PARTITION_EOF else m.value().decode())
        assert seen == ["a", "b", "eof"]
        assert [m for m in c.consume(num_messages=10, timeout=0.5) if m.error()] == []
        produce(bootstrap_servers, topic, [(None, b"c")])
        more: list[str] = []
        while "eof" not in more and time.monotonic() < deadline + 30:
            for m in c.consume(num_messages=10, timeout=0.5):
                more.append("eof" if m.error() is not None else m.value().decode())
        assert more == ["c", "eof"]
    finally:
        c.close()


def test_a_joining_member_gets_its_share_after_the_first_revokes(
    bootstrap_servers: str, topic_factory
) -> None:
    topic = topic_factory(partitions=4)
    group = unique_name("g")
    events: list[tuple[str, str, int]] = []

    def member(name: str):
        c = make_consumer({"bootstrap.servers": bootstrap_servers, "group.id": group,
                           "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        c.subscribe(
            [topic],
            on_assign=lambda _c, ps: events.append((name, "assign", len(ps))),
            on_revoke=lambda _c, ps: events.append((name, "revoke", len(ps))),
        )
        return c

    a = member("a")
    b = None
    try:
        deadline = time.monotonic() + 60
        while len(a.assignment()) != 4 and time.monotonic() < deadline:
            a.consume(num_messages=1, timeout=0.2)
        assert len(a.assignment()) == 4
        b = member("b")
        while time.monotonic() < deadline and not (
            len(a.assignment()) == 2 and len(b.assignment()) == 2
        ):
            a.consume(num_messages=1, timeout=0.2)
            b.consume(num_messages=1, timeout=0.2)
        assert sorted(len(x.assignment()) for x in (a, b)) == [2, 2]
        revoked_at = events.index(("a", "revoke", 4))
        assert events.index(("b", "assign", 2)) > revoked_at
    finally:
        a.close()
        if b is not None:
            b.close()


def test_producing_to_a_missing_topic_fails_delivery(bootstrap_servers: str) -> None:
    p = make_producer({"bootstrap.servers": bootstrap_servers, "message.timeout.ms": 3000})
    reports: list[KafkaError | None] = []
    p.produce(unique_name("missing"), b"x", on_delivery=lambda err, _m: reports.append(err))
    deadline = time.monotonic() + 30
    while not reports and time.monotonic() < deadline:
        p.poll(0.2)
    assert reports and reports[0] is not None
