"""The published contract: schema files, generated classes and the helpers around them."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest

from agentstream.errors import SchemaLoadError, UnknownRecordTypeError
from agentstream.events import (
    Attendee,
    AttendeeResponse,
    DeadLetter,
    DeadLetterStage,
    EventMeta,
    Header,
    MeetingScheduled,
    PullRequestOpened,
)
from agentstream.schemas import (
    Record,
    SchemaSet,
    all_records,
    default_schema_set,
    fingerprint,
    from_json,
    new_meta,
    record_class,
    schema_dir,
    to_json,
)
from agentstream.schemas._codegen import GENERATED_DIR, GENERATED_PATH, generate

META = "agentstream.meta.EventMeta"
PLATFORM = {
    "agentstream.platform.RawRecord",
    "agentstream.platform.DeadLetter",
    "agentstream.platform.AgentDescriptor",
}


def _top_level_events() -> list[str]:
    s = default_schema_set()
    return [n for n in s.top_level if n != META and n not in PLATFORM]


def test_every_file_is_one_namespaced_documented_type() -> None:
    files = sorted(schema_dir().glob("*.avsc"))
    assert len(files) >= 23
    for path in files:
        doc = json.loads(path.read_text())
        assert path.stem == f"{doc['namespace']}.{doc['name']}"
        assert doc["namespace"].startswith("agentstream."), path
        assert doc.get("doc"), path
        for f in doc["fields"]:
            assert f.get("doc"), f"{path.name}: field {f['name']} has no doc"


def test_every_event_starts_with_meta_and_meta_is_defined_once() -> None:
    events = _top_level_events()
    assert len(events) >= 19
    s = default_schema_set()
    for name in events:
        assert s.named[name]["fields"][0] == {
            **s.named[name]["fields"][0], "name": "meta", "type": META
        }
    defs = [p for p in schema_dir().glob("*.avsc") if '"name": "EventMeta"' in p.read_text()]
    assert [p.name for p in defs] == [f"{META}.avsc"]


def test_self_contained_schemas_parse_and_inline_meta_once() -> None:
    default_schema_set().validate()
    schema = PullRequestOpened.SCHEMA
    assert schema["fields"][0]["type"]["name"] == META
    assert json.dumps(schema).count('"name": "agentstream.meta.EventMeta"') == 1
    upd = record_class("agentstream.events.calendar.MeetingUpdated").SCHEMA
    # Attendee is defined in MeetingScheduled's file and reused by reference.
    assert upd["fields"][11]["type"]["items"]["name"] == "agentstream.events.calendar.Attendee"


def test_logical_types_are_used() -> None:
    meta = EventMeta.SCHEMA["fields"]
    assert meta[0]["type"] == {"type": "string", "logicalType": "uuid"}
    assert meta[4]["type"] == {"type": "long", "logicalType": "timestamp-millis"}


def test_cloudevents_mapping_is_documented() -> None:
    doc = EventMeta.SCHEMA["doc"]
    for attr in ("id->id", "type->type", "source->source", "subject->subject", "time->time"):
        assert attr in doc


def test_generated_module_is_up_to_date() -> None:
    expected = generate(SchemaSet.from_dir(schema_dir()))
    on_disk = {p.name for p in GENERATED_DIR.glob("_gen_*.py")} | {GENERATED_PATH.name}
    assert on_disk == set(expected), "run `agentstream schemas codegen`"
    for name, text in expected.items():
        assert (GENERATED_DIR / name).read_text() == text, "run `agentstream schemas codegen`"


def test_generated_code_follows_a_schema_change(tmp_path: Any) -> None:
    sources = {p.name: p.read_text() for p in schema_dir().glob("*.avsc")}
    doc = json.loads(sources["agentstream.meta.EventMeta.avsc"])
    doc["fields"].append({"name": "tenant", "type": ["null", "string"], "default": None,
                          "doc": "Tenant."})
    sources["agentstream.meta.EventMeta.avsc"] = json.dumps(doc)
    assert "tenant: str | None = None" in "".join(generate(SchemaSet(sources)).values())


def test_record_lookups() -> None:
    records = all_records()
    assert records["agentstream.events.code.PullRequestOpened"] is PullRequestOpened
    assert record_class("agentstream.platform.DeadLetter") is DeadLetter
    assert record_class("DeadLetter") is DeadLetter
    assert all(issubclass(c, Record) and n == c.FULLNAME for n, c in records.items())
    with pytest.raises(UnknownRecordTypeError, match="known:"):
        record_class("agentstream.nope.Nope")


def test_new_meta_defaults() -> None:
    m = new_meta(PullRequestOpened, source="connector.github", subject="o/r#1")
    assert m.type == PullRequestOpened.FULLNAME
    assert m.correlation_id == m.id and m.causation_id is None
    assert m.time.tzinfo is not None and m.time.microsecond % 1000 == 0
    assert abs((datetime.now(UTC) - m.time).total_seconds()) < 60
    child = new_meta("agentstream.insights.RiskDetected", source="a", subject="s",
                     correlation_id=m.correlation_id, causation_id=m.id, traceparent="00-x")
    assert child.correlation_id == m.id and child.causation_id == m.id and child.id != m.id


def _pr() -> PullRequestOpened:
    m = new_meta(PullRequestOpened, source="t", subject="o/r#1")
    return PullRequestOpened(meta=m, repo="o/r", number=1, title="t", url="u", author="a",
                             base_branch="main", head_branch="f", created_at=m.time)


def test_records_are_frozen_and_replace_works() -> None:
    pr = _pr()
    with pytest.raises(dataclasses.FrozenInstanceError):
        pr.number = 2  # type: ignore[misc]
    assert dataclasses.replace(pr, number=2).number == 2


def test_record_replace_equals_dataclasses_replace_and_leaves_the_original() -> None:
    pr = _pr()
    meta = pr.meta.replace(source="agent.x")
    fast = pr.replace(meta=meta, number=7)
    assert fast == dataclasses.replace(pr, meta=dataclasses.replace(pr.meta, source="agent.x"),
                                       number=7)
    assert type(fast) is PullRequestOpened and pr.number == 1 and pr.meta.source == "t"
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.number = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="PullRequestOpened has no field 'nubmer'"):
        pr.replace(nubmer=2)
    assert hash(fast) == hash(dataclasses.replace(fast))


def test_a_field_that_would_hide_a_record_method_is_refused() -> None:
    sources = {p.name: p.read_text() for p in schema_dir().glob("*.avsc")}
    doc = json.loads(sources["agentstream.meta.EventMeta.avsc"])
    doc["fields"].append({"name": "replace", "type": "string", "default": "", "doc": "x"})
    sources["agentstream.meta.EventMeta.avsc"] = json.dumps(doc)
    with pytest.raises(SchemaLoadError, match=r"field name 'replace' would hide Record\.replace"):
        generate(SchemaSet(sources))


def test_to_avro_from_avro_round_trip_with_nested_records_and_enums() -> None:
    m = new_meta(MeetingScheduled, source="t", subject="uid-1")
    ev = MeetingScheduled(
        meta=m, uid="uid-1", title="1:1", start=m.time, end=m.time,
        attendees=(Attendee(email="a@x", response=AttendeeResponse.ACCEPTED), Attendee(email="b")),
    )
    data = ev.to_avro()
    assert data["attendees"][0] == {"email": "a@x", "name": None, "response": "accepted",
                                    "optional": False, "person": None}
    assert MeetingScheduled.from_avro(data) == ev
    fastavro.validation.validate(data, fastavro.parse_schema(MeetingScheduled.SCHEMA, {}),
                                 raise_errors=True)
    back = MeetingScheduled.from_avro(json.loads(json.dumps(to_json(data, ev.SCHEMA))) |
                                      {"meta": data["meta"], "start": m.time, "end": m.time})
    assert back == ev


def test_json_view_round_trips_bytes_and_timestamps() -> None:
    now = datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    dl = DeadLetter(original_topic="t", original_partition=0, original_offset=5,
                    original_value=b"\xc3\x01\xff", original_headers=(Header(key="k", value=b"v"),),
                    error_type="E", error_message="m", stage=DeadLetterStage.HANDLE, attempts=3,
                    first_failure_at=now, last_failure_at=now, agent="a")
    js = to_json(dl.to_avro(), DeadLetter.SCHEMA)
    assert js["first_failure_at"] == "2024-01-02T03:04:05.006Z"
    assert DeadLetter.from_avro(from_json(json.loads(json.dumps(js)), DeadLetter.SCHEMA)) == dl


def test_fingerprint_accepts_classes_and_json() -> None:
    fp = fingerprint(EventMeta)
    assert fp == fingerprint(EventMeta.SCHEMA) == fingerprint(json.dumps(EventMeta.SCHEMA))
    assert 0 <= fp < 2**64


def test_duplicate_conflicting_definition_is_reported() -> None:
    a = {"type": "record", "name": "X", "namespace": "n", "fields": []}
    b = {**a, "fields": [{"name": "f", "type": "int"}]}
    with pytest.raises(SchemaLoadError, match=r"n\.X is already defined"):
        SchemaSet({"a.avsc": json.dumps(a), "b.avsc": json.dumps(b)})
    with pytest.raises(SchemaLoadError, match="not valid JSON"):
        SchemaSet({"c.avsc": "{"})
