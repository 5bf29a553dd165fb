"""The briefing writer cites only gathered evidence, offline or from a model's answer."""

from __future__ import annotations

from services.daily_briefing import writer

EV = {
    "team": "payments",
    "start": 0,
    "end": 86_400_000,
    "risks": [
        {
            "id": "r1",
            "kind": "risk:stale-review",
            "severity": "high",
            "text": "acme/pay#42 waits for a first review. Since Monday.",
        }
    ],
    "activity": [{"id": "a1", "kind": "activity", "text": "acme/pay: 3 PRs opened"}],
    "went_well": [{"id": "m1", "kind": "PullRequestMerged", "text": "dara merged acme/pay#44"}],
}


def test_offline_answer_puts_risks_first_and_cites_each_item() -> None:
    doc = writer.compose(EV, writer.offline_answer(EV))
    assert doc["attention"] == ["acme/pay#42 waits for a first review — `r1`"]
    assert doc["went_well"] == ["acme/pay: 3 PRs opened — `a1`", "dara merged acme/pay#44 — `m1`"]
    assert doc["based_on"] == ["r1", "a1", "m1"]
    assert doc["body"].index("What needs attention") < doc["body"].index("What went well")


def test_model_citations_outside_the_evidence_are_dropped() -> None:
    answer = writer.parse_answer(
        '```json\n{"attention": [{"text": "x", "cites": [1, 7]},'
        ' {"text": "made up", "cites": [9]}], "went_well": []}\n```'
    )
    doc = writer.compose(EV, answer)
    assert doc["attention"] == ["x — `r1`"] and doc["based_on"] == ["r1"]
    assert "made up" not in doc["body"]


def test_prompt_numbers_the_evidence() -> None:
    p = writer.prompt(EV)
    assert "[1] risk:stale-review (high): acme/pay#42" in p and "[3] PullRequestMerged" in p
