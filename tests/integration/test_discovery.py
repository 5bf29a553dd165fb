"""Published interfaces: descriptors on the compacted agents topic, live vs stale instances."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, Producer

from agentstream.config import KafkaSettings
from agentstream.discovery import (
    ensure_agents_topic,
    publish_descriptor,
    read_topology,
    withdraw_descriptor,
)
from agentstream.events import AgentDescriptor, Subscription
from agentstream.serde import make_serde
from agentstream.testing import consume_until, unique_name


def _descriptor(name: str, instance: str, consumes: str, emits: str) -> AgentDescriptor:
    return AgentDescriptor(
        name=name,
        version="1.2.0",
        consumes=(
            Subscription(topic=consumes, types=("agentstream.events.code.PullRequestOpened",)),
        ),
        emits=(Subscription(topic=emits, types=("agentstream.insights.RiskDetected",)),),
        instance=instance,
        host="test",
        pid=os.getpid(),
        started_at=datetime.now(UTC),
    )


def test_topology_shows_agents_live_and_stale(
    bootstrap_servers: str, kafka_admin, topic_factory
) -> None:
    settings = KafkaSettings(
        bootstrap_servers=bootstrap_servers, topic_prefix=unique_name("p") + "."
    )
    ensure_agents_topic(kafka_admin, settings)
    serde = make_serde(settings)
    producer = Producer(settings.client_config())
    risk, brief = unique_name("risk"), unique_name("brief")
    input_topic = topic_factory()
    publish_descriptor(
        producer, serde, settings, _descriptor(risk, "r-1", input_topic, "insights.risks")
    )
    publish_descriptor(
        producer, serde, settings, _descriptor(brief, "b-1", "events.chat", "insights.briefings")
    )
    publish_descriptor(
        producer, serde, settings, _descriptor(brief, "b-2", "events.chat", "insights.briefings")
    )
    withdraw_descriptor(producer, settings, brief, "b-2")

    # r-1 is a live member of its consumer group; b-1 announced itself but is not running.
    member = Consumer(settings.client_config(**{"group.id": risk, "client.id": "r-1"}))
    try:
        member.subscribe([input_topic])
        consume_until(
            member, until=lambda _: bool(member.assignment()), timeout=timedelta(seconds=30)
        )
        views = {v.name: v for v in read_topology(settings, timeout=timedelta(seconds=20))}
    finally:
        member.close()

    assert set(views) == {risk, brief}
    assert views[risk].live_instances == ("r-1",)
    assert views[risk].consumes == {input_topic: ("agentstream.events.code.PullRequestOpened",)}
    assert views[risk].emits == {"insights.risks": ("agentstream.insights.RiskDetected",)}
    assert views[brief].live_instances == ()
    assert views[brief].stale_instances == ("b-1",)  # b-2 withdrew
