from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from pydantic import ValidationError

from agentstream.config import KafkaSettings, check_environment, librdkafka_logger, load
from agentstream.errors import ConfigError


def test_unknown_agentstream_variable_is_an_error() -> None:
    with pytest.raises(
        ConfigError,
        match=r"AGENTSTREAM_BOOTSTRAP_SERVER \(did you mean AGENTSTREAM_BOOTSTRAP_SERVERS\?\)",
    ):
        check_environment({"AGENTSTREAM_BOOTSTRAP_SERVER": "x:1"})


def test_known_variables_and_foreign_ones_pass() -> None:
    check_environment(
        {"AGENTSTREAM_BOOTSTRAP_SERVERS": "x:1", "AGENTSTREAM_TOPIC_PREFIX": "p.", "HOME": "/"}
    )


def test_kafka_bootstrap_servers_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTSTREAM_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "h1:9092,h2:9092")
    assert KafkaSettings().bootstrap_servers == "h1:9092,h2:9092"


def test_librdkafka_keys_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSTREAM_LIBRDKAFKA", '{"security.protocol": "SASL_SSL"}')
    conf = KafkaSettings(bootstrap_servers="b:1").client_config(**{"group.id": "g"})
    assert conf.pop("logger") is librdkafka_logger()
    assert conf == {"bootstrap.servers": "b:1", "security.protocol": "SASL_SSL", "group.id": "g"}


def test_repeated_librdkafka_lines_are_collapsed(caplog: pytest.LogCaptureFixture) -> None:
    logger = librdkafka_logger()
    with caplog.at_level(logging.INFO, logger=logger.name):
        for port in range(5):
            logger.error("FAIL 127.0.0.1:%d: Connection refused (after 0ms)", port)
        logger.error("FAIL something else")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "Connection refused" in lines[0]
    assert lines[1] == "FAIL something else"


def test_invalid_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="librdkafka"):
        load(KafkaSettings, librdkafka="not a dict")


def test_settings_are_frozen() -> None:
    s = KafkaSettings(bootstrap_servers="b:1")
    with pytest.raises(Exception, match="frozen"):
        s.bootstrap_servers = "c:2"  # type: ignore[misc]


def test_durations_read_plain_seconds_and_iso_8601_and_name_a_bad_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentstream.runtime import AgentSettings  # noqa: PLC0415

    monkeypatch.setenv("AGENTSTREAM_AGENT_COMMIT_INTERVAL", "0.5")
    monkeypatch.setenv("AGENTSTREAM_AGENT_SHUTDOWN_TIMEOUT", "PT1M")
    s = AgentSettings()
    assert s.commit_interval == timedelta(milliseconds=500)
    assert s.shutdown_timeout == timedelta(minutes=1)
    monkeypatch.setenv("AGENTSTREAM_AGENT_SHUTDOWN_TIMEOUT", "soon")
    with pytest.raises(ValidationError, match="shutdown_timeout"):
        AgentSettings()
