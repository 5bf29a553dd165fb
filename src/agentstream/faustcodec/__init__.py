"""Faust codecs for AgentStream's wire formats (``pip install 'agentstream[faust]'``).

A Faust app (windowed aggregation, say) reads and writes the same Avro topics as the agents::

    import faust
    from agentstream.faustcodec import avro_codec

    app = faust.App("summaries", broker="kafka://127.0.0.1:9092")
    prs = app.topic("events.code", value_serializer="agentstream-avro")
    out = app.topic("insights.activity", value_serializer=avro_codec("insights.activity"))

Values are the typed records of ``agentstream.events``. Importing this package registers the
topic-less codec ``"agentstream-avro"`` (wire format and broker from ``KafkaSettings`` of the
environment); with a Schema Registry configured, topics you *write* need a topic-bound
``avro_codec(topic)`` because the subject name includes the topic. See ``docs/faust.md``.
"""

from __future__ import annotations

from agentstream.faustcodec._codec import (
    CODEC_NAME,
    AvroCodec,
    Undecodable,
    avro_codec,
    register_codecs,
    shared_serde,
)

__all__ = ["CODEC_NAME", "AvroCodec", "Undecodable", "avro_codec", "register_codecs",
           "shared_serde"]

register_codecs()
