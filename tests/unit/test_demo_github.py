"""The demo's GitHub mapping on real webhook payloads (shipped in services/demo/samples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from services.demo.github import scenario, to_events

from agentstream.events import BuildFailed, PullRequestMerged, PullRequestOpened, ReviewRequested
from agentstream.serde import InMemorySchemaStore, SingleObjectSerde

SAMPLES = Path(__file__).resolve().parents[2] / "services" / "demo" / "samples" / "github"


@pytest.mark.parametrize(
    ("name", "event_type", "subject"),
    [
        ("pull_request.opened.json", PullRequestOpened, "Codertocat/Hello-World#2"),
        ("pull_request.opened.2.json", PullRequestOpened, "derekg1729/test-repo#315"),
        ("pull_request.closed.merged.json", PullRequestMerged, "codinasion/codinasion-bot-try#14"),
        ("pull_request.review_requested.json", ReviewRequested, "Codertocat/Hello-World#2"),
        ("workflow_job.completed.failure.json", BuildFailed, "Codertocat/Hello-World"),
    ],
)
def test_real_payloads_become_semantic_events(name: str, event_type: type, subject: str) -> None:
    payload = json.loads((SAMPLES / name).read_text())
    events = to_events(name.split(".", 1)[0], payload)
    assert [type(e) for e in events] == [event_type]
    event = events[0]
    assert event.meta.subject == subject
    assert event.meta.type == event_type.FULLNAME
    assert event.meta.source == "github"
    serde = SingleObjectSerde(InMemorySchemaStore())
    assert serde.decode("events.code", serde.encode("events.code", event)) == event


def test_merged_payload_carries_who_merged() -> None:
    payload = json.loads((SAMPLES / "pull_request.closed.merged.json").read_text())
    (event,) = to_events("pull_request", payload)
    assert isinstance(event, PullRequestMerged)
    assert event.merged_by == payload["pull_request"]["merged_by"]["login"]


def test_unmapped_actions_produce_nothing() -> None:
    payload = json.loads((SAMPLES / "pull_request.opened.json").read_text())
    assert to_events("pull_request", {**payload, "action": "labeled"}) == []


def test_scenario_has_large_prs_and_failures() -> None:
    events = scenario(prs=6)
    large = [e for e in events if isinstance(e, PullRequestOpened) and (e.additions or 0) > 400]
    assert len(large) == 2
    assert sum(isinstance(e, BuildFailed) for e in events) == 2
