"""Choosing the consumer group protocol (KIP-848 ``consumer`` or ``classic``), without a broker."""

from __future__ import annotations

import logging

import pytest

from agentstream.config import KafkaSettings
from agentstream.errors import ConfigError
from agentstream.runtime import AgentSettings
from agentstream.runtime._group import (
    CLASSIC_ONLY_PROPERTIES,
    _parse,
    group_consumer_config,
    resolve_group_protocol,
)

KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:1")
BASE = {"bootstrap.servers": "127.0.0.1:1", "group.id": "g", "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500", "partition.assignment.strategy": "cooperative-sticky",
        "group.remote.assignor": "uniform", "client.id": "i"}

_LOG_48 = [
    "APIVERSION [rdkafka#producer-1] [thrd:b1:9092/bootstrap]: b1:9092/bootstrap: "
    "Broker API support:",
    "APIVERSION [rdkafka#producer-1] [thrd:b1:9092/bootstrap]: b1:9092/bootstrap:   "
    "ApiKey Produce (0) Versions 0..13",
    "APIVERSION [rdkafka#producer-1] [thrd:b1:9092/bootstrap]: b1:9092/bootstrap:   "
    "ApiKey ConsumerGroupHeartbeat (68) Versions 0..1",
]
_LOG_OLD = [
    "APIVERSION [rdkafka#producer-1] [thrd:b2:9092/2]: b2:9092/2: Broker API support:",
    "APIVERSION [rdkafka#producer-1] [thrd:b2:9092/2]: b2:9092/2:   "
    "ApiKey Fetch (1) Versions 4..16",
]


def _never(_: KafkaSettings) -> bool | None:
    raise AssertionError("the broker must not be probed")


def test_parse_api_versions_log() -> None:
    assert _parse(_LOG_48) is True
    assert _parse(_LOG_OLD) is False
    assert _parse(_LOG_48 + _LOG_OLD) is False, "every broker that answered must support it"
    assert _parse(["FEATURE something else"]) is None


def test_consumer_sets_the_protocol_and_drops_what_it_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "agentstream.runtime"):
        conf = group_consumer_config("consumer", KAFKA, BASE, probe=_never)
    assert conf["group.protocol"] == "consumer"
    assert not set(CLASSIC_ONLY_PROPERTIES) & set(conf)
    assert conf["group.remote.assignor"] == "uniform"
    assert (conf["group.id"], conf["client.id"]) == ("g", "i")
    assert "session.timeout.ms" in caplog.text and "broker-side" in caplog.text


def test_classic_keeps_its_tuning_and_drops_the_remote_assignor() -> None:
    conf = group_consumer_config("classic", KAFKA, BASE, probe=_never)
    assert conf["group.protocol"] == "classic"
    assert conf["session.timeout.ms"] == "6000"
    assert "group.remote.assignor" not in conf


@pytest.mark.parametrize(("answer", "chosen"), [(True, "consumer"), (False, "classic"),
                                                (None, "classic")])
def test_auto_follows_the_broker(answer: bool | None, chosen: str) -> None:
    assert resolve_group_protocol("auto", KAFKA, probe=lambda _: answer) == chosen


def test_auto_keeps_classic_when_classic_tuning_is_configured() -> None:
    tuned = KafkaSettings(bootstrap_servers="127.0.0.1:1",
                          librdkafka={"session.timeout.ms": "6000"})
    assert resolve_group_protocol("auto", tuned, probe=_never) == "classic"


def test_setting_reads_the_environment_and_rejects_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AgentSettings().group_protocol == "auto"
    monkeypatch.setenv("AGENTSTREAM_AGENT_GROUP_PROTOCOL", "consumer")
    assert AgentSettings().group_protocol == "consumer"
    monkeypatch.setenv("AGENTSTREAM_AGENT_GROUP_PROTOCOL", "eager")
    with pytest.raises((ConfigError, ValueError)):
        AgentSettings()


def test_a_silent_broker_means_no_answer_within_the_deadline() -> None:
    import socket  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from agentstream.runtime._group import broker_supports_consumer_protocol  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
    assert broker_supports_consumer_protocol(kafka, timeout=timedelta(milliseconds=500)) is None
    assert resolve_group_protocol(
        "auto", kafka, probe=lambda k: broker_supports_consumer_protocol(
            k, timeout=timedelta(milliseconds=300))) == "classic"


def test_a_raw_group_protocol_is_followed_by_auto_and_overridden_by_the_setting() -> None:
    raw = KafkaSettings(bootstrap_servers="127.0.0.1:1", librdkafka={"group.protocol": "classic"})
    assert resolve_group_protocol("auto", raw, probe=_never) == "classic"
    assert resolve_group_protocol("consumer", raw, probe=_never) == "consumer"
    conf = group_consumer_config("consumer", raw, {"group.protocol": "classic"}, probe=_never)
    assert conf["group.protocol"] == "consumer"
