"""Console parts that need no broker: metric folding, token parsing, escaping, team scope."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from agentstream.console import ConsoleAccessError, ConsoleSettings, IndexedEvent
from agentstream.console._access import _presented_token
from agentstream.console._html import esc, markdown, url
from agentstream.console._scrape import AgentMetrics, parse_metrics

TEXT = """\
# TYPE agentstream_events_in_total counter
agentstream_events_in_total{agent="a",topic="t",type="X"} 5.0
agentstream_events_in_total{agent="b",topic="t",type="X"} 1.0
# TYPE agentstream_dead_letters_total counter
agentstream_dead_letters_total{agent="a",stage="handle"} 2.0
# TYPE agentstream_consumer_lag gauge
agentstream_consumer_lag{agent="a",partition="0",topic="t"} 7.0
# TYPE agentstream_handler_latency_seconds histogram
agentstream_handler_latency_seconds_sum{agent="a",type="X"} 1.5
agentstream_handler_latency_seconds_count{agent="a",type="X"} 3.0
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 3.0
"""


def test_metrics_of_two_instances_add_up_per_agent() -> None:
    into: dict[str, AgentMetrics] = {}
    parse_metrics(TEXT, into)
    parse_metrics(TEXT, into)
    a = into["a"]
    assert a.total_in == 10 and a.dead_letters == {"handle": 4} and a.total_lag == 14
    assert a.mean_latency == pytest.approx(0.5)
    assert into["b"].total_in == 2 and set(into) == {"a", "b"}


def test_tokens_are_read_from_bearer_and_basic_auth() -> None:
    basic = base64.b64encode(b"anyone:tok:with:colons").decode()
    assert _presented_token({b"authorization": b"Bearer tok"}) == "tok"
    assert _presented_token({b"authorization": f"Basic {basic}".encode()}) == "tok:with:colons"
    assert _presented_token({b"authorization": b"Basic !!notbase64"}) is None
    assert _presented_token({}) is None


def test_settings_refuse_an_unsafe_binding_and_keep_the_token_secret() -> None:
    with pytest.raises(ConsoleAccessError):
        ConsoleSettings(host="0.0.0.0").require_safe_binding()
    safe = ConsoleSettings(host="0.0.0.0", token="t0ken")
    safe.require_safe_binding()
    assert safe.auth_required and "t0ken" not in repr(safe)
    assert not ConsoleSettings().auth_required
    assert ConsoleSettings(open_risk_window="3600").open_risk_window == timedelta(hours=1)


def test_event_values_cannot_inject_markup() -> None:
    assert esc('<img src=x onerror="alert(1)">') == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")
    html = markdown("**ok** <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<strong>ok</strong>" in html and "<script>" not in html
    assert "href" not in html  # a javascript: link stays text
    assert url("events", "a/b?c") == "/events/a%2Fb%3Fc"


def test_indexed_event_exposes_its_envelope() -> None:
    e = IndexedEvent("t", 0, 4, "k", "agentstream.insights.RiskDetected",
                     {"meta": {"id": "i1", "time": "2026-01-01T00:00:00.000Z", "subject": "s"}})
    assert (e.id, e.subject, e.time[:4]) == ("i1", "s", "2026")
