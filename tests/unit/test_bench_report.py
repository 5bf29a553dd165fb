"""The benchmark report: per-round ratios and median rounds, not one lucky or unlucky run."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _common import Outcome, Verdict
from run_all import median_outcomes, report, round_ratios


def _o(contender: str, eps: float, *, dup: int = 0) -> Outcome:
    return Outcome("passthrough", contender, "at_least_once", eps, 100, 1.0,
                   verdict=Verdict(100, 100 - dup, 0, dup, 0))


ROUNDS = [
    [_o("bare-confluent", 20000), _o("agentstream", 8000), _o("quixstreams", 10000)],
    [_o("bare-confluent", 8000), _o("agentstream", 6000), _o("quixstreams", 5000, dup=2)],
    [_o("bare-confluent", 18000), _o("agentstream", 7000), _o("quixstreams", 9000)],
]


def test_ratios_are_taken_per_round() -> None:
    vs_bare, vs_peer = round_ratios(ROUNDS)
    assert [round(x, 3) for x in vs_bare] == [0.4, 0.75, 0.389]
    assert [round(x, 3) for x in vs_peer] == [0.8, 1.2, 0.778]


def test_median_round_per_contender_with_every_round_counted_in_the_verdict() -> None:
    by_name = {o.contender: o for o in median_outcomes(ROUNDS)}
    assert by_name["bare-confluent"].events_per_s == 18000
    assert by_name["agentstream"].events_per_s == 7000
    quix = by_name["quixstreams"]
    assert quix.events_per_s == 9000 and quix.verdict is not None
    assert quix.verdict.duplicates == 2, "a duplicate in any round must show"
    assert quix.note.startswith("median of 3 rounds: 10000 / 5000 / 9000")


def test_report_states_the_median_ratio_and_each_round() -> None:
    opts = SimpleNamespace(slow_ms=200.0, keys=1000)
    text = report(ROUNDS, [], [], facts={}, command="x", opts=opts, broker_desc="b",
                  component_runs=[])
    assert "AgentStream / bare loop: **0.40** (rounds: 0.40, 0.75, 0.39)" in text
    assert "AgentStream / best peer: **0.80** (rounds: 0.80, 1.20, 0.78)" in text
