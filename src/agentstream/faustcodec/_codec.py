"""``AvroCodec``: a ``faust.Codec`` over ``agentstream.serde``: Faust reads and writes our topics.

Faust calls ``Codec._dumps(obj)`` / ``_loads(bytes)`` without telling which topic the bytes belong
to. That is fine for the registry-free single-object format (the 10-byte header names the writer
schema by fingerprint) and for *decoding* the Confluent format (the schema id is in the bytes),
but *encoding* under the Schema Registry needs the topic: subjects follow TopicRecordNameStrategy
(``<topic>-<record full name>``). Hence a codec can be bound to a topic — ``avro_codec(topic)``
— and an unbound codec refuses to encode when the wire format is the registry one, rather than
register a schema under a subject nobody reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import faust
from faust.serializers import codecs as faust_codecs

from agentstream.config import KafkaSettings, load
from agentstream.errors import ConfigError, DecodeError, EncodeError
from agentstream.schemas import Record
from agentstream.serde import RegistrySerde, Serde, make_serde

__all__ = ["CODEC_NAME", "AvroCodec", "Undecodable", "avro_codec", "register_codecs",
           "shared_serde"]

CODEC_NAME = "agentstream-avro"

# One serde per distinct settings: a serde holds a schema-store consumer or a registry client
# and its caches, which every codec of a process should share rather than rebuild.
_SERDES: dict[str, Serde] = {}
_SERDES_LOCK = threading.Lock()


def shared_serde(settings: KafkaSettings | None = None) -> Serde:
    """The process-wide serde for ``settings`` (default: ``KafkaSettings`` from the environment)."""
    settings = settings or load(KafkaSettings)
    key = settings.model_dump_json()
    with _SERDES_LOCK:
        serde = _SERDES.get(key)
        if serde is None:
            serde = _SERDES[key] = make_serde(settings)
        return serde


@dataclass(frozen=True)
class Undecodable:
    """A value a codec with ``undecodable="wrap"`` could not decode: the bytes and the reason.

    Faust drops a message whose value fails to decode (logged, then skipped); wrapped, it reaches
    the agent, which can dead-letter it instead (``stage=decode``)."""

    data: bytes
    error: DecodeError


class AvroCodec(faust.Codec):  # type: ignore[misc]  # faust ships no type information for mypy
    """Faust codec for AgentStream records in the configured wire format.

    ``topic`` binds the codec to a topic (needed to encode with a Schema Registry; used in error
    messages otherwise). ``serde`` is the serde to use (default: ``shared_serde(settings)``, built
    on first use so that importing and registering never connects). Values are the generated
    record classes of ``agentstream.events``: leave the Faust topic's ``value_type`` unset.
    ``undecodable="wrap"`` turns a value that does not decode into an ``Undecodable`` for the
    agent to dead-letter; the default ``"raise"`` leaves it to Faust (which skips it).
    """

    def __init__(
        self,
        children: tuple[Any, ...] | None = None,
        *,
        topic: str | None = None,
        serde: Serde | None = None,
        settings: KafkaSettings | None = None,
        undecodable: str = "raise",
    ) -> None:
        if undecodable not in ("raise", "wrap"):
            raise ConfigError(f"undecodable must be 'raise' or 'wrap', not {undecodable!r}")
        # faust's clone() rebuilds a codec as type(self)(children=..., **self.kwargs).
        super().__init__(children, topic=topic, serde=serde, settings=settings,
                         undecodable=undecodable)
        self.undecodable = undecodable
        self.topic = topic
        self._serde = serde
        self._settings = settings

    @property
    def serde(self) -> Serde:
        """The serde behind this codec (created from the settings on first use)."""
        if self._serde is None:
            self._serde = shared_serde(self._settings)
        return self._serde

    def _dumps(self, obj: Any) -> bytes:
        if not isinstance(obj, Record):
            raise EncodeError(
                f"{CODEC_NAME} encodes AgentStream records (agentstream.events classes), got "
                f"{type(obj).__name__}; send the typed event, not a dict or a faust Record"
            )
        serde = self.serde
        if self.topic is None and isinstance(serde, RegistrySerde):
            raise ConfigError(
                f"the {CODEC_NAME!r} codec has no topic, but the Schema Registry format needs one "
                "for the subject name (<topic>-<record>): use "
                "value_serializer=avro_codec('<topic>') on that topic"
            )
        return serde.encode(self.topic or "", obj)

    def _loads(self, s: bytes) -> Any:
        try:
            return self.serde.decode(self.topic or "<faust>", s)
        except DecodeError as exc:
            if self.undecodable == "wrap":
                return Undecodable(bytes(s), exc)
            raise


def avro_codec(
    topic: str | None = None,
    *,
    serde: Serde | None = None,
    settings: KafkaSettings | None = None,
    undecodable: str = "raise",
) -> AvroCodec:
    """A codec for ``topic`` (or topic-less): pass it as a Faust topic's ``value_serializer``.
    ``undecodable``: see ``AvroCodec``.

    Example::

        events = app.topic("events.code", value_serializer=avro_codec("events.code"))
    """
    return AvroCodec(topic=topic, serde=serde, settings=settings, undecodable=undecodable)


def register_codecs(*, settings: KafkaSettings | None = None, name: str = CODEC_NAME) -> AvroCodec:
    """Register a topic-less codec in Faust's codec registry under ``name`` and return it.

    Importing ``agentstream.faustcodec`` registers ``"agentstream-avro"`` with settings from the
    environment; call this to register one with explicit settings (or under another name).
    """
    codec = avro_codec(settings=settings)
    faust_codecs.register(name, codec)
    return codec
