"""Acceptance: shadow replay of a day of the reference product's scenario.

Production pr-risk (its own process) handles the scenario's whole week of code events, written
with their scenario times as Kafka timestamps. ``agentstream shadow`` (its own process) then
replays Monday — ``--from`` Monday 00:00 ``--to`` Tuesday 00:00 — through a candidate whose
large-pull-request rule starts at 200 lines instead of 400. The report must name exactly the
changed outputs: the large-PR risk of acme/web#17 (changed: its summary quotes the limit), new
large-PR risks of acme/payments#42 and #43 (only in the shadow), every other output the same;
and nothing of production may change: its topics' end offsets, its internal topics, its
consumer group's committed offsets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from agents.harness import ROOT, spawn_agent, wait_for
from agents.pr_risk_v2 import LARGE_PR_LINES
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from services.scenario.team import identity_toml
from services.scenario.week import build_week

from agentstream.config import KafkaSettings
from agentstream.connectors import IdentityMap, Normalizer, make_raw
from agentstream.events import PullRequestOpened
from agentstream.serde import make_serde, read_events
from agentstream.testing import unique_name

WEEK = date(2026, 11, 23)  # a Monday
MONDAY = datetime.combine(WEEK, time(0), tzinfo=UTC)
RISK = "agentstream.insights.RiskDetected"


def _code_events(tmp_path: Path) -> list[tuple[datetime, Any]]:
    """The week's GitHub deliveries as the normalizer turns them into ``events.code``."""
    (tmp_path / "ids.toml").write_text(identity_toml())
    normalizer = Normalizer(identity=IdentityMap.load(tmp_path / "ids.toml"))
    out = []
    for d in build_week(seed=1, week_start=WEEK).deliveries:
        if d.source != "github":
            continue
        raw = make_raw("github", d.event, d.body, delivery_id=d.delivery_id,
                       headers={"x-github-event": d.event}, received_at=d.at)  # fmt: skip
        out += [(d.at, e.event) for e in normalizer.normalize(raw).events
                if e.topic.endswith("events.code")]  # fmt: skip
    return out


def _publish(bootstrap: str, topic: str, events: list[tuple[datetime, Any]]) -> None:
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    from agentstream.bus import make_producer  # noqa: PLC0415

    p = make_producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for at, e in events:
        p.produce(topic, key=e.meta.subject.encode(), value=serde.encode(topic, e),
                  timestamp=int(at.timestamp() * 1000))  # fmt: skip
    assert p.flush(30) == 0


def _topics(bootstrap: str, prefix: str, extra: list[str]) -> dict[str, dict[int, int]]:
    """End offsets of every partition of ``extra`` and of every topic starting with ``prefix``."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [t for t in admin.list_topics(timeout=30).topics if t.startswith(prefix)] + extra
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("probe")})
    try:
        out: dict[str, dict[int, int]] = {}
        for t in names:
            md = c.list_topics(t, timeout=10).topics[t]
            out[t] = {p: c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
                      for p in md.partitions}  # fmt: skip
        return out
    finally:
        c.close()


def _committed(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    [fut] = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    res = fut.result(timeout=30)
    return {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions}


def _env(name: str, code: str, risks: str, prefix: str, log: Path) -> dict[str, str]:
    return {
        "AGENTSTREAM_TOPIC_PREFIX": prefix,
        "AGENTSTREAM_PR_RISK_AGENT_NAME": name,
        "AGENTSTREAM_PR_RISK_CODE_TOPIC": code,
        "AGENTSTREAM_PR_RISK_RISKS_TOPIC": risks,
        "AGENTSTREAM_PR_RISK_TEAM": "payments",
        # Stale-review timers are due in an hour at the earliest: none fires during the test,
        # on either side (a firing depends on the wall clock, not on the inputs).
        "AGENTSTREAM_PR_RISK_REPLAY_GRACE": "3600",
        # One input at a time: different keys are otherwise handled concurrently, and pr-risk's
        # reviewer load (state across keys) would depend on which got the lock first.
        "AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "1",
        "AGENT_STDERR": str(log),
    }


def _large(pr: PullRequestOpened, lines: int) -> bool:
    return (pr.additions or 0) + (pr.deletions or 0) > lines or (pr.changed_files or 0) > 20


def _run_production(bootstrap: str, env: dict[str, str], code: str, group: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ends = {(code, p): o for p, o in _topics(bootstrap, "\0", [code])[code].items()}
    prod = spawn_agent("services.pr_risk.agent:agent", bootstrap, env)
    try:
        wait_for(lambda: all(_committed(admin, group).get(tp, -1) >= o for tp, o in ends.items()),
                 timeout=timedelta(seconds=120), what="production pr-risk to finish the week")
    finally:
        prod.terminate()
        prod.wait(60)


def _run_shadow(bootstrap: str, env: dict[str, str], run_id: str) -> dict[str, Any]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap, "PYTHONPATH": str(ROOT), **env}
    full.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    shadow = subprocess.run(
        [sys.executable, "-m", "agentstream.cli", "shadow", "services.pr_risk.agent:agent",
         "--candidate", "tests.integration.agents.pr_risk_v2:agent",
         "--from", "2026-11-23T00:00Z", "--to", "2026-11-24T00:00Z",
         "--run-id", run_id, "--json", "--deadline", "3m"],
        cwd=ROOT, env=full, capture_output=True, timeout=240, check=False,
    )  # fmt: skip
    assert shadow.returncode == 0, shadow.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(shadow.stdout)
    return report


def _assert_names_the_changed_rule(report: dict[str, Any], monday: list[Any],
                                   production_risks: list[Any]) -> None:  # fmt: skip
    # The changed rule, computed here from the inputs: large from 200 lines instead of 400.
    opened = [e for e in monday if isinstance(e, PullRequestOpened)]
    both = {e.meta.id for e in opened if _large(e, 400) and _large(e, LARGE_PR_LINES)}
    new = {e.meta.id for e in opened if _large(e, LARGE_PR_LINES) and not _large(e, 400)}
    assert len(both) == 1 and len(new) == 2  # acme/web#17; acme/payments#42 and #43
    diffs = report["differences"]
    changed = [d for d in diffs if d["kind"] == "changed"]
    only_shadow = [d for d in diffs if d["kind"] == "only-shadow"]
    assert not [d for d in diffs if d["kind"] == "only-production"], json.dumps(diffs)[:6000]
    assert {d["causation_id"] for d in changed} == both
    assert [d["changed_fields"] for d in changed] == [["summary"]]
    assert {d["causation_id"] for d in only_shadow} == new
    assert all(d["shadow"]["fields"]["kind"] == "large-pull-request" for d in only_shadow)
    # The changed output is production's large-PR risk of #17, named by its id.
    [large17] = [r for r in production_risks if r.kind == "large-pull-request"
                 and r.meta.causation_id in both]  # fmt: skip
    assert changed[0]["production"]["id"] == large17.meta.id
    assert changed[0]["shadow"]["id"] == large17.meta.id  # same name, same ordinal: same id
    # Every other output of a Monday input is the same (pending timers included).
    monday_ids = {e.meta.id for e in monday}
    prod_monday = [r for r in production_risks if r.meta.causation_id in monday_ids]
    counts = report["types"][RISK]
    assert counts == {"same": report["outputs"]["production"] - 1, "changed": 1,
                      "only_production": 0, "only_shadow": 2}  # fmt: skip
    assert counts["same"] >= len(prod_monday) - 1 >= 1
    assert report["dead_letters"] == {"production": 0, "shadow": 0}
    assert report["production_behind"] == 0
    # Stale-review timers: #42's and #43's are pending on both sides (compared, the same);
    # #17's was cancelled in production by Wednesday's review, pending in the shadow: not
    # compared, reported as undecided.
    pending = [d for d in diffs if (d["production"] or {}).get("pending_timer")
               or (d["shadow"] or {}).get("pending_timer")]  # fmt: skip
    assert not pending
    assert len(report["timers_undecided"]) == 1


def test_shadow_replay_of_a_day_names_exactly_the_changed_outputs(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    # One input partition (and one input at a time, _env): pr-risk's state spans pull requests
    # (reviewer load), and inputs of different partitions or keys are handled in no reproducible
    # order, so a Monday input's output could reflect Wednesday's requests in production
    # (docs/shadow.md, "noise floor").
    code, risks = topic_factory(partitions=1), topic_factory(partitions=1)
    name, prefix = unique_name("pr-risk"), unique_name("p") + "."
    env = _env(name, code, risks, prefix, tmp_path / "agents.log")
    events = _code_events(tmp_path)
    monday = [e for at, e in events if at < MONDAY + timedelta(days=1)]
    assert 5 < len(monday) < len(events)
    _publish(bootstrap_servers, code, events)
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    _run_production(bootstrap_servers, env, code, name)
    production_risks = read_events(KafkaSettings(bootstrap_servers=bootstrap_servers), risks)
    before = _topics(bootstrap_servers, prefix, [code, risks])
    group_before = _committed(admin, name)

    run_id = unique_name("acc")[:20]
    report = _run_shadow(bootstrap_servers, env, run_id)

    # The window is Monday, exactly, and the report names the changed rule's outputs.
    assert report["complete"] and report["window"]["inputs"] == len(monday)
    [(start, end)] = report["window"]["partitions"].values()
    assert start == 0 and end == len(monday)
    _assert_names_the_changed_rule(report, monday, production_risks)

    # Production is untouched: no topic of it grew, no topic of its prefix appeared outside the
    # run's namespace, its group's offsets are what they were.
    after = _topics(bootstrap_servers, prefix, [code, risks])
    namespace = f"{prefix}shadow.{run_id}."
    assert report["namespace"] == namespace
    assert {t: after[t] for t in before} == before
    assert all(t.startswith(namespace) for t in set(after) - set(before))
    assert f"{namespace}{risks}" in after
    assert _committed(admin, name) == group_before
    assert report["group"] == f"{namespace}{name}"
    assert _committed(admin, report["group"])[(code, 0)] >= end  # read on, skipped, stopped
