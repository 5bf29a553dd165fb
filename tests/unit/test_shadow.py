"""Shadow replay without a broker: the diff's pairing, the window's parsing, the run's names,
the guarded clients, and the report as printed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from agentstream import shadow
from agentstream.shadow.replay import (
    Output,
    ShadowOptions,
    diff_outputs,
    parse_start,
    parse_stop,
)

RISK = "agentstream.insights.RiskDetected"


def _out(eid: str, cause: str, subject: str, *, offset: int = 0, etype: str = RISK,
         **fields: Any) -> Output:  # fmt: skip
    meta = {"id": eid, "subject": subject, "time": f"2026-12-01T00:00:0{offset}Z",
            "causation_id": cause, "source": "agent.a"}  # fmt: skip
    return Output(etype, eid, cause, "insights.risks", 0, offset, {"meta": meta, **fields})


def test_equal_payloads_are_the_same_whatever_their_ids_and_times() -> None:
    report = diff_outputs([_out("p1", "c1", "s", kind="x", summary="a")],
                          [_out("s9", "c1", "s", offset=5, kind="x", summary="a")])  # fmt: skip
    assert report.identical
    assert report.counts[RISK].to_json() == {
        "same": 1, "changed": 0, "only_production": 0, "only_shadow": 0}


def test_an_extra_output_for_an_input_is_only_shadow_and_does_not_shift_the_others() -> None:
    # The candidate emits a new risk first: its event ids (by ordinal) all shift, yet the
    # old output is still recognised as the same one.
    prod = [_out("id-1", "c1", "pr#1", kind="stale", summary="late")]
    shad = [_out("id-1", "c1", "pr#1", kind="large", summary="big"),
            _out("id-2", "c1", "pr#1", offset=1, kind="stale", summary="late")]  # fmt: skip
    report = diff_outputs(prod, shad)
    c = report.counts[RISK]
    assert (c.same, c.changed, c.only_production, c.only_shadow) == (1, 0, 0, 1)
    [d] = report.differences
    assert d.kind == "only-shadow" and d.shadow is not None and d.shadow.fields["kind"] == "large"


def test_changed_pairs_are_about_the_same_entity_and_name_the_fields() -> None:
    prod = [_out("a", "c1", "person:ana", kind="overload", summary="5 pending", severity="m"),
            _out("b", "c1", "person:ben", offset=1, kind="overload", summary="4 pending")]
    shad = [_out("a", "c1", "person:ben", kind="overload", summary="4 pending"),
            _out("b", "c1", "person:ana", offset=1, kind="overload", summary="6 pending",
                 severity="m")]  # fmt: skip
    report = diff_outputs(prod, shad)
    c = report.counts[RISK]
    assert (c.same, c.changed) == (1, 1)
    [d] = report.by_kind("changed")
    assert d.subject == "person:ana" and d.changed_fields == ("summary",)
    assert d.production is not None and d.production.event_id == "a"


def test_other_entities_or_other_causes_are_not_paired() -> None:
    report = diff_outputs([_out("a", "c1", "pr#1", kind="x")],
                          [_out("b", "c1", "pr#2", kind="x"), _out("c", "c2", "pr#1", kind="x")])
    c = report.counts[RISK]
    assert (c.same, c.changed, c.only_production, c.only_shadow) == (0, 0, 1, 2)


def test_ignored_fields_and_counts_per_type() -> None:
    other = "agentstream.insights.ActivitySummary"
    prod = [_out("a", "c1", "s", model="gpt-a", body="hi"), _out("b", "c1", "s", etype=other)]
    shad = [_out("a", "c1", "s", model="gpt-b", body="hi")]
    assert diff_outputs(prod, shad).counts[RISK].changed == 1
    report = diff_outputs(prod, shad, ignore=("meta.id", "meta.time", "model"))
    assert report.counts[RISK].same == 1
    assert report.counts[other].only_production == 1
    doc = report.to_json(sample=0)
    assert doc["types"][other]["only_production"] == 1
    assert "fields" not in doc["differences"][0]["production"]  # beyond the sample: ids only
    json.dumps(doc)


def test_window_arguments() -> None:
    assert parse_start("earliest").earliest
    assert parse_start("42").offset == 42
    assert parse_start("2026-11-30T00:00Z").at == datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_start("2026-11-30T00:00").at == datetime(2026, 11, 30, tzinfo=UTC)
    ago = parse_start("24h").at
    assert ago is not None
    assert abs(datetime.now(UTC) - timedelta(hours=24) - ago) < timedelta(minutes=1)
    assert parse_start("events.code:0=10,1=20").offsets == {("events.code", 0): 10, ("", 1): 20}
    assert parse_stop(None, None).at is None and parse_stop("end", None).count is None
    assert parse_stop(None, 5).count == 5
    with pytest.raises(shadow.ShadowError, match="not both"):
        parse_stop("1h", 5)
    with pytest.raises(shadow.ShadowError, match="expected earliest"):
        parse_start("yesterday")
    with pytest.raises(shadow.ShadowError, match="at least 1"):
        parse_stop(None, 0)


def test_a_run_names_everything_inside_its_namespace() -> None:
    run = shadow.ShadowRun("r1", topic_prefix="acme.")
    assert run.namespace == "acme.shadow.r1."
    assert run.output_topic("insights.risks") == "acme.shadow.r1.insights.risks"
    assert run.output_topic("acme.shadow.r1.x") == "acme.shadow.r1.x"  # already the run's
    assert run.redirected == {"insights.risks"}
    assert run.state_topic("_agentstream.llm.a") == "acme.shadow.r1._agentstream.llm.a"
    assert run.redirected == {"insights.risks"}  # state topics are not outputs
    with pytest.raises(shadow.ShadowError, match="run id"):
        shadow.ShadowRun("Bad Id")


def test_outside_a_run_nothing_changes() -> None:
    assert not shadow.active() and shadow.current() is None
    assert shadow.output_topic("insights.risks") == "insights.risks"
    run = shadow.ShadowRun("r2")
    with shadow.entered(run):
        assert shadow.active() and shadow.output_topic("t") == "shadow.r2.t"
    assert not shadow.active()
    shadow.enter_process(run)
    try:
        assert shadow.current() == run
    finally:
        shadow.enter_process(None)
    assert not shadow.active()


class _Fake:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def produce(self, topic: str, *a: Any, **k: Any) -> None:
        self.calls.append(("produce", topic))

    def commit(self, *a: Any, **k: Any) -> None:
        self.calls.append(("commit", k))

    def create_topics(self, topics: list[Any], **k: Any) -> dict[str, Any]:
        self.calls.append(("create", [t.topic for t in topics]))
        return {}

    def poll(self, timeout: float) -> int:
        return 7


class _New:
    def __init__(self, topic: str) -> None:
        self.topic = topic


def test_guarded_clients_refuse_production_and_delegate_the_rest() -> None:
    run = shadow.ShadowRun("r3")
    fake = _Fake()
    p = shadow.guard_producer(fake, run)  # type: ignore[arg-type]
    p.produce("shadow.r3.out", b"v")
    with pytest.raises(shadow.ShadowWriteError, match=r"'insights\.risks'"):
        p.produce("insights.risks", b"v")
    assert p.poll(0) == 7
    assert fake.calls == [("produce", "shadow.r3.out")]
    c = shadow.guard_consumer(fake, {"group.id": "pr-risk"}, run)  # type: ignore[arg-type]
    with pytest.raises(shadow.ShadowWriteError, match="consumer group"):
        c.commit(asynchronous=False)
    own = shadow.guard_consumer(fake, {"group.id": "shadow.r3.pr-risk"}, run)  # type: ignore[arg-type]
    own.commit(asynchronous=False)
    assert shadow.consumer_config({"group.id": "g"}, run)["enable.auto.commit"] is False
    assert "enable.auto.commit" not in shadow.consumer_config({"group.id": "shadow.r3.g"}, run)
    a = shadow.guard_admin(fake, run)  # type: ignore[arg-type]
    a.create_topics([_New("shadow.r3.dlq.a")])
    with pytest.raises(shadow.ShadowWriteError):
        a.create_topics([_New("shadow.r3.ok"), _New("events.code")])
    assert fake.calls[-1] == ("create", ["shadow.r3.dlq.a"])


def test_options_default_to_the_whole_topic_and_half_an_hour() -> None:
    o = ShadowOptions()
    assert o.start.earliest and o.stop.at is None and o.deadline == timedelta(minutes=30)
    assert "meta.id" in o.ignore and "meta.time" in o.ignore


def test_the_report_prints_counts_and_pairs_side_by_side() -> None:
    from agentstream.cli._shadow import _print  # noqa: PLC0415
    from agentstream.shadow.replay import ShadowResult, Window  # noqa: PLC0415

    report = diff_outputs([_out("a", "c1", "pr#1", kind="large", summary="over 400")],
                          [_out("a", "c1", "pr#1", kind="large", summary="over 200"),
                           _out("b", "c2", "pr#2", kind="large", summary="new")])  # fmt: skip
    result = ShadowResult(
        run=shadow.ShadowRun("r4"), agent="pr-risk 0.2.0", candidate="v2", group="shadow.r4.g",
        window=Window({("t", 0): 0}, {("t", 0): 2}), inputs=2, input_types={}, complete=True,
        elapsed=1.0, report=report, production_outputs=1, shadow_outputs=2, shadow_topics=[],
    )
    console = Console(record=True, width=160)
    _print(result, console, sample=5)
    text = console.export_text()
    assert "over 400" in text and "over 200" in text and "summary" in text
    assert "only-shadow: pr#2" in text
    assert RISK in text


def test_noise_is_what_a_baseline_differed_in_too() -> None:
    from agentstream.shadow.replay import mark_noise  # noqa: PLC0415

    prod = [_out("a", "c1", "pr#1", kind="x", summary="at 1"),
            _out("b", "c2", "pr#2", kind="x", summary="same")]  # fmt: skip
    baseline = diff_outputs(prod, [_out("a", "c1", "pr#1", kind="x", summary="at 2"),
                                   _out("b", "c2", "pr#2", kind="x", summary="same")])
    candidate = diff_outputs(prod, [_out("a", "c1", "pr#1", kind="x", summary="at 3"),
                                    _out("b", "c2", "pr#2", kind="x", summary="other"),
                                    _out("n", "c3", "pr#3", kind="x")])  # fmt: skip
    marked = mark_noise(candidate, baseline)
    assert marked.counts[RISK].noise == 1 and marked.counts[RISK].changed == 2
    assert [(d.causation_id, d.noise) for d in marked.differences] == [
        ("c2", False), ("c3", False), ("c1", True)]  # the signal first
    assert [d.causation_id for d in marked.signal] == ["c2", "c3"]
    assert marked.to_json()["types"][RISK]["noise"] == 1
    assert "noise" not in candidate.to_json()["types"][RISK]  # no baseline, no noise count


def test_long_texts_are_shown_from_where_they_differ() -> None:
    from agentstream.cli._shadow import _cells  # noqa: PLC0415

    head = "The team merged eleven pull requests this week. " * 6
    p, s = _cells(head + "Ana is overloaded.", head + "Ben is overloaded.")
    assert p.startswith("...") and "Ana is overloaded." in p and "Ben is overloaded." in s
    assert _cells("short", "other") == ("short", "other")
