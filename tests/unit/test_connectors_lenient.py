"""Lenient JSON on the normalizer path: strict first; JSON5 quirks only when that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstream.connectors import MalformedPayloadError, Normalizer, make_raw, parse_json

DATA = Path(__file__).resolve().parents[1] / "data"
DOCS = DATA / "slack" / "events_api" / "slack-docs"


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": [1, 2,], "b": {"c": "x",},}',  # trailing commas
        b'{\n  // a comment\n  "a": [1, 2], /* and another */ "b": {"c": "x"}\n}',
        b"{'a': [1, 2], 'b': {'c': 'x'}}",  # single quotes
        b'\xef\xbb\xbf{"a": [1, 2], "b": {"c": "x"}}',  # a UTF-8 byte order mark
    ],
)
def test_lenient_reads_the_quirks_strict_refuses(body: bytes) -> None:
    with pytest.raises(MalformedPayloadError, match="not valid JSON"):
        parse_json(body, what="body")
    assert parse_json(body, what="body", lenient=True) == {"a": [1, 2], "b": {"c": "x"}}


def test_slack_documentation_examples_read_as_their_corrected_versions() -> None:
    raws = sorted(DOCS.glob("*.raw.txt"))
    assert len(raws) == 4
    for raw in raws:
        fixed = raw.with_name(raw.name.replace(".raw.txt", ".fixed.json"))
        with pytest.raises(MalformedPayloadError, match="not valid JSON"):
            parse_json(raw.read_bytes(), what=raw.name)
        lenient = parse_json(raw.read_bytes(), what=raw.name, lenient=True)
        assert lenient == parse_json(fixed.read_bytes(), what=fixed.name)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"action": "opened",', "line 1 column 21"),  # truncated: no leniency can help
        (b'{"a": 1}\n{"b": 2}', "line 2 column 1"),  # two documents
        (b"'just a string'", "line 1 column 1"),  # JSON5 scalars are not payloads
    ],
)
def test_beyond_leniency_the_error_is_the_strict_one(body: bytes, where: str) -> None:
    with pytest.raises(MalformedPayloadError, match=f"not valid JSON: .* at {where}$"):
        parse_json(body, what="body", lenient=True)


def test_not_utf8_is_refused_even_leniently() -> None:
    with pytest.raises(MalformedPayloadError, match="UTF-8"):
        parse_json(b'{"a": "\xff",}', what="body", lenient=True)


def test_the_normalizer_reads_a_quirky_body_to_the_same_events_and_ids() -> None:
    n = Normalizer()
    raw = (DOCS / "reaction_added.docs.raw.txt").read_bytes()
    fixed = (DOCS / "reaction_added.docs.fixed.json").read_bytes()
    quirky = n.normalize(make_raw("slack", "reaction_added", raw, delivery_id="Ev123ABC456"))
    clean = n.normalize(make_raw("slack", "reaction_added", fixed, delivery_id="Ev123ABC456"))
    assert [type(e.event).__name__ for e in quirky.events] == ["ReactionAdded"]
    assert [e.event.to_avro() for e in quirky.events] == [e.event.to_avro() for e in clean.events]
    gh = b'{"action": "opened",}'  # a GitHub body that parses leniently but lacks a repository
    with pytest.raises(MalformedPayloadError, match="'repository'"):
        n.normalize(make_raw("github", "pull_request", gh, delivery_id="d"))
