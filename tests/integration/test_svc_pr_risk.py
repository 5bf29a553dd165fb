"""pr-risk as its own process on the real broker: a stale-review timer survives a SIGKILL of the
service and fires after its restart, a review cancels its pull request's timer, and the
reviewer-load and build-failing risks cite event ids that exist on the input topic."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from agents.harness import spawn_agent, wait_for
from svc.events import alive, build_failed, opened, publish, read_records, requested, reviewed

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import unique_name
from agentstream.workflow import read_timers

TARGET = "services.pr_risk.agent:agent"
REPO = "acme/payments"


def _env(name: str, code: str, risks: str, prefix: str, log: Path) -> dict[str, str]:
    return {
        "AGENTSTREAM_TOPIC_PREFIX": prefix,
        "AGENTSTREAM_PR_RISK_AGENT_NAME": name,
        "AGENTSTREAM_PR_RISK_CODE_TOPIC": code,
        "AGENTSTREAM_PR_RISK_RISKS_TOPIC": risks,
        "AGENTSTREAM_PR_RISK_TEAM": "payments",
        "AGENTSTREAM_PR_RISK_FIRST_REVIEW_WITHIN": "20",
        "AGENTSTREAM_PR_RISK_REPLAY_GRACE": "0",
        "AGENTSTREAM_PR_RISK_REVIEWER_MAX_PENDING": "2",
        "AGENTSTREAM_PR_RISK_IMBALANCE_RATIO": "1.4",
        "AGENT_STDERR": str(log),
    }


def _kinds(risks: list[Any], kind: str) -> list[Any]:
    return [r for r in risks if r.kind == kind]


def test_stale_review_timer_fires_after_restart_and_a_review_cancels_it(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    code, risks_topic = topic_factory(partitions=3), topic_factory(partitions=1)
    name, prefix = unique_name("pr-risk"), unique_name("p") + "."
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    log = tmp_path / "agent.log"
    env = _env(name, code, risks_topic, prefix, log)
    timers_settings = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix)

    waiting, answered = opened(REPO, 1, "alice"), opened(REPO, 2, "bob")
    # carol is asked for three reviews (over the limit of 2) and dave for one: overloaded and
    # imbalanced; the build of #1 fails.
    asks = [requested(REPO, n, "carol") for n in (1, 2, 3)] + [requested(REPO, 4, "dave")]
    third, fourth = opened(REPO, 3, "erin"), opened(REPO, 4, "erin")
    build = build_failed(REPO, [1])
    first_batch = [waiting, answered, third, fourth, *asks, reviewed(REPO, 2, "dave")]

    child = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        publish(bootstrap_servers, serde, code, first_batch)
        read_records(bootstrap_servers, serde, risks_topic,
                     until=alive(child, log, lambda rs: bool(_kinds(rs, "review-imbalance"))),
                     timeout=timedelta(seconds=90))
        # Every pull request is known now (each was opened before carol's request on it).
        publish(bootstrap_servers, serde, code, [build])
        early = read_records(bootstrap_servers, serde, risks_topic,
                             until=alive(child, log, lambda rs: bool(_kinds(rs, "build-failing"))))
        # Timers of #1, #3 and #4 are stored; #2's was cancelled by dave's review.
        def armed() -> bool:
            pending = [t for t in read_timers(timers_settings, topic=f"workflows.{name}.timers")
                       if t.service == name]  # (an agent's timers are in its own topic)
            return len(pending) == 3

        wait_for(armed, timeout=timedelta(seconds=30), what="three pending stale-review timers")
        assert not _kinds(early, "stale-review"), "a timer fired before the restart"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)

    child = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        stale = read_records(
            bootstrap_servers, serde, risks_topic,
            until=alive(child, log, lambda rs: len(_kinds(rs, "stale-review")) >= 3),
            timeout=timedelta(seconds=120),
        )
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)

    by_pr = {r.meta.subject: r for r in _kinds(stale, "stale-review")}
    assert set(by_pr) == {f"{REPO}#1", f"{REPO}#3", f"{REPO}#4"}  # not #2: it was reviewed
    assert waiting.meta.id in by_pr[f"{REPO}#1"].based_on
    assert by_pr[f"{REPO}#1"].team == "payments" and by_pr[f"{REPO}#1"].person == "alice"
    assert len(_kinds(stale, "stale-review")) == 3  # each fired once

    inputs = {e.meta.id for e in read_records(bootstrap_servers, serde, code,
                                              until=lambda rs: len(rs) >= len(first_batch) + 1)}
    carol = {a.meta.id for a in asks[:3]}
    [overload] = _kinds(stale, "reviewer-overload")
    assert overload.person == "carol" and set(overload.based_on) == carol
    [imbalance] = _kinds(stale, "review-imbalance")
    assert imbalance.person == "carol" and set(imbalance.based_on) == carol
    [failing] = _kinds(stale, "build-failing")
    assert set(failing.based_on) == {build.meta.id, waiting.meta.id}
    assert failing.meta.subject == f"{REPO}#1"
    for r in stale:
        assert set(r.based_on) <= inputs, f"{r.kind} cites ids not on {code}: {r.based_on}"
