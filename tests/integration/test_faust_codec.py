"""Faust interop: a real Faust app reads our Avro events through ``agentstream.faustcodec`` and
writes forwarded and aggregated events back that our serde decodes.

The Faust app is this file run as a script (``python test_faust_codec.py app ...``) in a child
process, so Faust's worker owns its own event loop and signals; the test kills it at the end.
The first tests need no broker: they check the codec through Faust's own codec registry.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.serializers import codecs as faust_codecs

from agentstream.config import KafkaSettings
from agentstream.errors import ConfigError, EncodeError
from agentstream.events import ActivitySummary, PullRequestOpened
from agentstream.faustcodec import CODEC_NAME, AvroCodec, avro_codec
from agentstream.schemas import new_meta
from agentstream.serde import InMemorySchemaStore, RegistrySerde, SingleObjectSerde, make_serde
from agentstream.testing import WaitTimeoutError, consume_until, consumer, produce

PER_KEY = 4
KEYS = 5


def _pr(repo: str, number: int) -> PullRequestOpened:
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="test.producer", subject=repo),
        repo=repo,
        number=number,
        title=f"PR {number}",
        url=f"https://github.com/{repo}/pull/{number}",
        author="octocat",
        base_branch="main",
        head_branch=f"feature-{number}",
        created_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=number),
    )


# -- the codec, through Faust's registry (no broker) ---------------------------------------------


def test_registered_name_round_trips_single_object() -> None:
    assert isinstance(faust_codecs.get_codec(CODEC_NAME), AvroCodec)
    codec = avro_codec(serde=SingleObjectSerde(InMemorySchemaStore()))
    event = _pr("octo/a", 1)
    data = faust_codecs.dumps(codec, event)
    assert data[:2] == b"\xc3\x01"
    assert faust_codecs.loads(codec, data) == event


def test_topic_bound_codec_uses_registry_subjects() -> None:
    serde = RegistrySerde("mock://faust-codec-test")
    codec = avro_codec("events.code", serde=serde)
    event = _pr("octo/b", 2)
    data = codec.dumps(event)
    assert data[0] == 0  # Confluent framing
    assert codec.loads(data) == event
    assert "events.code-agentstream.events.code.PullRequestOpened" in (
        serde.client.get_subjects()
    )
    # Decoding needs no topic: the schema id is in the bytes.
    assert avro_codec(serde=serde).loads(data) == event


def test_unbound_codec_refuses_registry_encoding() -> None:
    codec = avro_codec(serde=RegistrySerde("mock://faust-codec-unbound"))
    with pytest.raises(ConfigError, match="avro_codec"):
        codec.dumps(_pr("octo/c", 3))


def test_non_records_are_rejected_and_chaining_keeps_settings() -> None:
    codec = avro_codec("t", serde=SingleObjectSerde(InMemorySchemaStore()))
    with pytest.raises(EncodeError, match=r"agentstream\.events"):
        codec.dumps({"repo": "octo/d"})
    chained = codec | faust_codecs.binary()  # faust clones the codec with its kwargs
    event = _pr("octo/d", 4)
    assert chained.loads(chained.dumps(event)) == event


# -- a real Faust app against the broker -------------------------------------------------------


def test_faust_app_reads_and_writes_our_topics(bootstrap_servers: str, topic_factory) -> None:
    src, fwd, summary = topic_factory(partitions=3), topic_factory(), topic_factory()
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    sent = [_pr(f"octo/repo-{k}", n) for n in range(PER_KEY) for k in range(KEYS)]
    produce(bootstrap_servers, src,
            [(e.meta.subject.encode(), serde.encode(src, e)) for e in sent])

    app_id = f"faust-codec-{src}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers}
    env.pop("AGENTSTREAM_SCHEMA_REGISTRY_URL", None)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, __file__, "app", "--bootstrap", bootstrap_servers, "--app-id",
             app_id, "--input", src, "--forward", fwd, "--summary", summary],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            with consumer(bootstrap_servers) as c:
                c.subscribe([fwd, summary])
                try:
                    got = consume_until(c, count=len(sent) + KEYS, timeout=timedelta(seconds=120))
                except WaitTimeoutError:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-3000:]
                    pytest.fail(f"Faust app did not deliver in time; its output:\n{tail}")
        finally:
            proc.kill()
            proc.wait(timeout=30)

    forwarded = [serde.decode(fwd, m.value()) for m in got if m.topic() == fwd]
    summaries = [serde.decode(summary, m.value()) for m in got if m.topic() == summary]
    assert sorted((e.repo, e.number) for e in forwarded) == sorted((e.repo, e.number) for e in sent)
    assert all(isinstance(e, PullRequestOpened) and e.meta.source == "faust.test"
               for e in forwarded)
    assert len(summaries) == KEYS
    by_id = {e.meta.id: e for e in sent}
    for s in summaries:
        assert isinstance(s, ActivitySummary)
        assert s.counts == {"PullRequestOpened": PER_KEY}
        assert sorted(by_id[i].number for i in s.based_on) == list(range(PER_KEY))
        assert {by_id[i].repo for i in s.based_on} == {s.entity}
        assert s.meta.subject == s.entity
        assert s.period_start <= s.period_end


# -- the Faust app (run as a child process by the test above) -----------------------------------


def _run_app(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    for opt in ("--bootstrap", "--app-id", "--input", "--forward", "--summary"):
        p.add_argument(opt, required=True)
    args = p.parse_args(argv)
    app = faust.App(
        args.app_id,
        broker=f"kafka://{args.bootstrap}",
        web_enabled=False,
        datadir=tempfile.mkdtemp(prefix="faust-codec-"),
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
    )
    # Reading by registered name (topic-less: the single-object header names the schema);
    # writing through topic-bound codecs, which also works with a Schema Registry.
    src = app.topic(args.input, key_serializer="raw", value_serializer=CODEC_NAME)
    fwd = app.topic(args.forward, key_serializer="raw", value_serializer=avro_codec(args.forward))
    out = app.topic(args.summary, key_serializer="raw", value_serializer=avro_codec(args.summary))
    buckets: dict[str, list[PullRequestOpened]] = {}

    @app.agent(src)
    async def aggregate(stream: Any) -> None:
        async for key, event in stream.items():
            assert isinstance(event, PullRequestOpened), type(event)
            meta = dataclasses.replace(event.meta, source="faust.test")
            await fwd.send(key=key, value=dataclasses.replace(event, meta=meta))
            bucket = buckets.setdefault(event.repo, [])
            bucket.append(event)
            if len(bucket) == PER_KEY:
                await out.send(key=key, value=_summary(event.repo, buckets.pop(event.repo)))

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


def _summary(repo: str, events: list[PullRequestOpened]) -> ActivitySummary:
    times = [e.created_at for e in events]
    return ActivitySummary(
        meta=new_meta(ActivitySummary, source="faust.test", subject=repo,
                      correlation_id=events[-1].meta.correlation_id,
                      causation_id=events[-1].meta.id),
        based_on=tuple(e.meta.id for e in events),
        entity=repo,
        period_start=min(times),
        period_end=max(times),
        counts={"PullRequestOpened": len(events)},
        summary=f"{len(events)} pull requests opened on {repo}",
    )


if __name__ == "__main__" and sys.argv[1:2] == ["app"]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    _run_app(sys.argv[2:])
