"""The contract tooling agrees with Apache Avro's and Confluent's published test vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import to_parsing_canonical_form

from agentstream.schemas import Record, compatibility_problems, fingerprint
from agentstream.schemas._compat import reader_writer_problems
from agentstream.serde import InMemorySchemaStore, SingleObjectSerde
from agentstream.serde._single import MAGIC

DATA = Path(__file__).resolve().parents[1] / "data" / "avro-compat"


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


CASES = _lines("cases.jsonl")
FINGERPRINTS = _lines("fingerprints.jsonl")


def test_all_152_cases_are_present() -> None:
    assert len(CASES) == 152
    assert sum(not c["compatible"] for c in CASES) > 50


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c['name']}" for i, c in enumerate(CASES)])
def test_checker_agrees_with_expected_verdict(case: dict[str, Any]) -> None:
    problems = reader_writer_problems(case["reader"], case["writer"])
    assert (not problems) is case["compatible"], problems
    if not case["compatible"]:
        for loc in case.get("incompatibility_locations", []):
            assert loc in problems[0]


def test_modes_map_reader_and_writer() -> None:
    old = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    new = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string"}]}
    # A new field without default: old data lacks it (BACKWARD fails); old readers ignore it.
    assert compatibility_problems(new, [old], mode="BACKWARD")
    assert not compatibility_problems(new, [old], mode="FORWARD")
    assert compatibility_problems(new, [old], mode="FULL")
    assert not compatibility_problems(new, [old], mode="NONE")
    mid = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""}]}
    # new (b without default) vs mid: mid data has b -> fine non-transitively, not vs old.
    assert not compatibility_problems(new, [old, mid], mode="BACKWARD")
    assert compatibility_problems(new, [old, mid], mode="BACKWARD_TRANSITIVE")


WITH_FP = [f for f in FINGERPRINTS if "fingerprint_int64" in f]


def test_fingerprint_vectors_are_present() -> None:
    assert len(WITH_FP) >= 27
    assert len(FINGERPRINTS) == 36


@pytest.mark.parametrize("vec", FINGERPRINTS, ids=[v["id"] for v in FINGERPRINTS])
def test_canonical_form_and_crc64_fingerprint(vec: dict[str, Any]) -> None:
    schema = json.loads(vec["schema"])
    assert to_parsing_canonical_form(schema) == vec["canonical_form"]
    if "fingerprint_int64" in vec:
        assert fingerprint(schema) == vec["fingerprint_int64"] % 2**64
        header = MAGIC + fingerprint(schema).to_bytes(8, "little")
        assert header.hex() == vec["single_object_header_hex"]


def test_message_v1_single_object_vector_decodes() -> None:
    vec = next(v for v in FINGERPRINTS if v["id"] == "messageV1")

    class TestMessage(Record):  # a minimal reader class for a schema outside our contract
        FULLNAME = "org.apache.avro.TestMessage"
        SCHEMA = json.loads(vec["schema"])

        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        @classmethod
        def from_avro(cls, data: dict[str, Any]) -> TestMessage:
            return cls(data)

    store = InMemorySchemaStore()
    serde = SingleObjectSerde(store, reader_records={TestMessage.FULLNAME: TestMessage})
    decoded = serde.decode("vectors", bytes.fromhex(vec["single_object_message_hex"]))
    assert decoded.data == vec["decoded_value"]  # type: ignore[attr-defined]
