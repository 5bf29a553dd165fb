"""The notifier's rendering and settings."""

from __future__ import annotations

import pytest
from services.notifier.render import as_json, as_slack, as_text
from services.notifier.settings import NotifierSettings

from agentstream.events import RiskDetected, RiskSeverity
from agentstream.schemas import new_meta

R = RiskDetected(
    meta=new_meta(RiskDetected, source="t", subject="o/r#1"),
    based_on=("11111111-1111-4111-8111-111111111111",), kind="stale-review",
    severity=RiskSeverity.HIGH, title="o/r#1 waited", summary="no review", person="alice",
)


def test_json_line_carries_id_kind_and_evidence() -> None:
    line = as_json(R)
    assert (line["id"], line["kind"], line["severity"], line["person"]) == (
        R.meta.id, "stale-review", "high", "alice")
    assert line["based_on"] == list(R.based_on)


def test_slack_payload_has_text_blocks_and_evidence() -> None:
    msg = as_slack(R)
    assert "o/r#1 waited" in msg["text"]
    assert [b["type"] for b in msg["blocks"]] == ["section", "section", "context"]
    assert R.based_on[0] in msg["blocks"][2]["elements"][0]["text"]


def test_console_text_names_the_evidence() -> None:
    assert "based on 11111111" in as_text(R)


def test_sinks_need_their_targets() -> None:
    with pytest.raises(ValueError, match="JSONL_PATH"):
        NotifierSettings(sinks=frozenset({"jsonl"}))
    with pytest.raises(ValueError, match="WEBHOOK_URL"):
        NotifierSettings(sinks=frozenset({"webhook"}))
