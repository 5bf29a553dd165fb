"""The Faust codec's handling of bytes that do not decode: raised for Faust by default, wrapped
for the agent to dead-letter with ``undecodable="wrap"``; a good record decodes either way."""

from __future__ import annotations

import pytest
from tests.unit.testbed.test_engine_on_memory import pr

from agentstream.config import KafkaSettings
from agentstream.errors import ConfigError, DecodeError
from agentstream.faustcodec import AvroCodec, Undecodable
from agentstream.serde import make_serde


def _serde():  # type: ignore[no-untyped-def]
    return make_serde(KafkaSettings(bootstrap_servers="memory://faust-codec-unit"))


def test_undecodable_bytes_raise_by_default_and_are_wrapped_on_request() -> None:
    serde = _serde()
    with pytest.raises(DecodeError, match="bad-magic"):
        AvroCodec(topic="events.code", serde=serde)._loads(b"junk")
    wrapped = AvroCodec(topic="events.code", serde=serde, undecodable="wrap")._loads(b"junk")
    assert isinstance(wrapped, Undecodable)
    assert wrapped.data == b"junk" and "bad-magic" in str(wrapped.error)


def test_a_good_record_decodes_with_wrap_too() -> None:
    serde = _serde()
    event = pr("k1", 3)
    codec = AvroCodec(topic="events.code", serde=serde, undecodable="wrap")
    back = codec._loads(codec._dumps(event))
    assert (back.meta.id, back.number, back.repo) == (event.meta.id, 3, event.repo)


def test_an_unknown_undecodable_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="undecodable"):
        AvroCodec(topic="t", undecodable="skip")
