"""The foundation: a real Kafka broker from Apache Kafka's jars behaves like Kafka."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from agentstream.localkafka import LocalBroker, free_port
from agentstream.testing import (
    consume_until,
    consumer,
    create_topic,
    produce,
    unique_name,
)


def test_round_trip_with_consumer_group(bootstrap_servers: str, topic_factory) -> None:
    topic = topic_factory(partitions=3)
    sent = [(f"k{i % 7}".encode(), f"v{i}".encode()) for i in range(300)]
    produce(bootstrap_servers, topic, sent)
    with consumer(bootstrap_servers, group=unique_name("g")) as c:
        c.subscribe([topic])
        got = consume_until(c, count=300)
    assert sorted((m.key(), m.value()) for m in got) == sorted(sent)
    # Per key, Kafka keeps produce order (same key -> same partition).
    by_key: dict[bytes, list[bytes]] = {}
    for m in got:
        by_key.setdefault(m.key(), []).append(m.value())
    for key, values in by_key.items():
        assert values == [v for k, v in sent if k == key]


def test_committed_offsets_survive_consumer_restart(bootstrap_servers: str, topic_factory) -> None:
    topic = topic_factory()
    group = unique_name("g")
    produce(bootstrap_servers, topic, [(None, f"a{i}".encode()) for i in range(10)])
    with consumer(bootstrap_servers, group=group) as c:
        c.subscribe([topic])
        first = consume_until(c, count=10)
        c.commit(message=first[-1], asynchronous=False)
    produce(bootstrap_servers, topic, [(None, f"b{i}".encode()) for i in range(5)])
    with consumer(bootstrap_servers, group=group) as c:
        c.subscribe([topic])
        second = consume_until(c, count=5)
        committed = c.committed([TopicPartition(topic, 0)], timeout=10)
    assert [m.value() for m in second] == [f"b{i}".encode() for i in range(5)]
    assert committed[0].offset == 10


def test_data_survives_broker_restart(tmp_path: Path) -> None:
    """A second broker on its own ports: stop it, start it again, read everything back."""
    broker = LocalBroker(tmp_path / "b2", port=free_port(), controller_port=free_port())
    st = broker.start()
    try:
        assert not st.already_running
        again = broker.start()
        assert again.already_running and again.pid == st.pid
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        topic = create_topic(admin, unique_name("durable"), partitions=2)
        sent = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(200)]
        produce(broker.bootstrap_servers, topic, sent)
        assert broker.stop()
        assert broker.status() is None
        restarted = broker.start()
        assert restarted.pid != st.pid
        with consumer(broker.bootstrap_servers) as c:
            c.subscribe([topic])
            got = consume_until(c, count=200, timeout=timedelta(seconds=60))
        assert sorted((m.key(), m.value()) for m in got) == sorted(sent)
    finally:
        broker.stop()


def test_compacted_topic_is_created_compacted(kafka_admin: AdminClient, topic_factory) -> None:
    topic = topic_factory(config={"cleanup.policy": "compact"})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = kafka_admin.describe_configs([res])[res].result(timeout=10)
    assert configs["cleanup.policy"].value == "compact"


def test_aborted_transaction_is_invisible_to_read_committed(
    bootstrap_servers: str, topic_factory
) -> None:
    topic = topic_factory()
    p = Producer({"bootstrap.servers": bootstrap_servers, "transactional.id": unique_name("tx")})
    p.init_transactions(10)
    p.begin_transaction()
    p.produce(topic, value=b"aborted-1")
    p.produce(topic, value=b"aborted-2")
    p.flush(10)
    p.abort_transaction(10)
    p.begin_transaction()
    p.produce(topic, value=b"committed")
    p.commit_transaction(10)

    with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([topic])
        got = consume_until(c, count=1)
        # Nothing else arrives: read past the end, then check the position covers the markers.
        extra = c.consume(num_messages=10, timeout=2)
    assert [m.value() for m in got] == [b"committed"]
    assert [m.value() for m in extra if m.error() is None] == []

    with consumer(bootstrap_servers, **{"isolation.level": "read_uncommitted"}) as c:
        c.subscribe([topic])
        raw = consume_until(c, count=3)
    assert [m.value() for m in raw] == [b"aborted-1", b"aborted-2", b"committed"]


def test_topic_creation_errors_are_raised(kafka_admin: AdminClient, topic_factory) -> None:
    topic = topic_factory()
    with pytest.raises(KafkaException):
        create_topic(kafka_admin, topic)


def test_consumer_sees_broker_metadata(bootstrap_servers: str) -> None:
    c = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": unique_name("g")})
    try:
        md = c.list_topics(timeout=10)
        assert len(md.brokers) == 1
    finally:
        c.close()
