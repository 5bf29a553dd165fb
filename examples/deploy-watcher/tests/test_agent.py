"""The deploy watcher on a real Kafka broker: its flags, its memory across a restart, its DLQ."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from agentstream.config import KafkaSettings
from agentstream.events import DeadLetter, DeadLetterStage
from agentstream.runtime import dlq_topic
from agentstream.serde import Serde, make_serde
from agentstream.testing import consume_until, consumer, produce, unique_name
from confluent_kafka import Consumer, TopicPartition

from deploywatch.agent import DeployWatchSettings, build_agent
from deploywatch.events import (
    DeployFinished,
    DeployFlagged,
    DeployOutcome,
    DeployStarted,
    FlagKind,
)
from support import finished, running, started, subject, wait_for

FAILED, ROLLED_BACK, OK = DeployOutcome.FAILED, DeployOutcome.ROLLED_BACK, DeployOutcome.SUCCEEDED
_WAIT = timedelta(seconds=60)


def _send(
    bootstrap: str, serde: Serde, topic: str, events: list[DeployStarted | DeployFinished]
) -> None:
    produce(bootstrap, topic, [(e.meta.subject, serde.encode(topic, e)) for e in events])


@contextmanager
def _committed_to_end(bootstrap: str, group: str, topic: str) -> Iterator[Callable[[], bool]]:
    """A check: has ``group`` committed every record of ``topic``? (Outputs are acknowledged
    before an input's offset commits, so by then all its flags are on the output topic.)"""
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})  # never joins

    def done() -> bool:
        tp = TopicPartition(topic, 0)
        high = probe.get_watermark_offsets(tp, timeout=10)[1]
        committed = probe.committed([tp], timeout=10)[0].offset
        return bool(committed >= high)

    try:
        yield done
    finally:
        probe.close()


def _flags(bootstrap: str, serde: Serde, topic: str, count: int) -> list[DeployFlagged]:
    with consumer(bootstrap) as c:
        c.subscribe([topic])
        got = consume_until(c, count=count, timeout=_WAIT)
        tp = TopicPartition(topic, 0)
        assert c.get_watermark_offsets(tp, timeout=10)[1] == count, "no more flags than these"
    flags = [serde.decode(topic, m.value()) for m in got]
    assert all(isinstance(f, DeployFlagged) for f in flags)
    return flags  # type: ignore[return-value]


def test_flags_repeated_failures_and_remembers_them_across_a_restart(
    bootstrap_servers: str, topic_factory: Callable[..., str]
) -> None:
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    settings = DeployWatchSettings(name=unique_name("deploy-watcher"), input_topic=src,
                                   output_topic=out, failures_to_flag=2)
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    f1 = finished("billing", "prod", "v1", FAILED)
    f2 = finished("billing", "prod", "v2", ROLLED_BACK)
    f4 = finished("billing", "prod", "v4", FAILED)
    first = [
        started("billing", "prod", "v1"), f1,
        started("billing", "prod", "v2"), f2,                   # 2nd failure in a row: flag
        started("billing", "prod", "v3", by="alice"),          # started while failing: flag
        finished("billing", "prod", "v3", OK),                 # the streak ends
        started("billing", "prod", "v4"), f4,                   # 1st failure of a new streak
        finished("search", "staging", "v9", FAILED),           # another service: its own streak
    ]
    _send(bootstrap_servers, serde, src, first)
    with (
        _committed_to_end(bootstrap_servers, settings.name, src) as done,
        running(build_agent(settings), bootstrap_servers),
    ):
        wait_for(done, timeout=_WAIT, what="the watcher to commit its input")
    repeated, during = _flags(bootstrap_servers, serde, out, 2)

    assert repeated.kind is FlagKind.REPEATED_FAILURE
    assert repeated.based_on == (f1.meta.id, f2.meta.id)
    assert repeated.consecutive_failures == 2
    assert (repeated.service, repeated.environment) == ("billing", "prod")
    assert repeated.meta.causation_id == f2.meta.id
    assert repeated.meta.correlation_id == f2.meta.correlation_id
    assert repeated.meta.subject == subject("billing", "prod")
    assert repeated.meta.source == f"agent.{settings.name}"
    assert "rolled back in prod (v2): 2 failed deployments in a row" in repeated.summary
    assert during.kind is FlagKind.DEPLOY_WHILE_FAILING
    assert during.based_on == (f1.meta.id, f2.meta.id)
    assert during.summary.startswith("alice started v3 of billing in prod")

    # A new process restores the streak (v4 failed) from the store's changelog.
    f5 = finished("billing", "prod", "v5", FAILED)
    _send(bootstrap_servers, serde, src, [started("billing", "prod", "v5"), f5])
    with (
        _committed_to_end(bootstrap_servers, settings.name, src) as done,
        running(build_agent(settings), bootstrap_servers),
    ):
        wait_for(done, timeout=_WAIT, what="the restarted watcher to commit its input")
    restarted = _flags(bootstrap_servers, serde, out, 3)[2]
    assert restarted.kind is FlagKind.REPEATED_FAILURE
    assert restarted.based_on == (f4.meta.id, f5.meta.id)


def test_an_undecodable_record_goes_to_the_dead_letter_topic(
    bootstrap_servers: str, topic_factory: Callable[..., str]
) -> None:
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    settings = DeployWatchSettings(name=unique_name("deploy-watcher"), input_topic=src,
                                   output_topic=out)
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    good = started("billing", "prod", "v1")
    produce(bootstrap_servers, src, [(b"billing@prod", b"not avro"),
                                     (good.meta.subject, serde.encode(src, good))])
    with (
        _committed_to_end(bootstrap_servers, settings.name, src) as done,
        running(build_agent(settings), bootstrap_servers),
    ):
        wait_for(done, timeout=_WAIT, what="the watcher to commit its input")
    with consumer(bootstrap_servers) as c:
        c.subscribe([dlq_topic(settings.name)])
        [msg] = consume_until(c, count=1, timeout=_WAIT)
    letter = serde.decode(msg.topic(), msg.value())
    assert isinstance(letter, DeadLetter)
    assert letter.original_topic == src and letter.original_offset == 0
    assert letter.stage is DeadLetterStage.DECODE
    assert letter.error_type == "DecodeError" and "bad-magic" in letter.error_message
    assert letter.original_value == b"not avro" and letter.agent == settings.name
