"""The pr-risk rules on plain state."""

from __future__ import annotations

from datetime import timedelta

from services.pr_risk.rules import (
    build_failed,
    large_pr,
    pending_load,
    review_load,
    stale_review,
)
from services.pr_risk.settings import PrRiskSettings

S = PrRiskSettings(reviewer_max_pending=2, imbalance_ratio=1.5, imbalance_min_pending=3)


def _pr(n: int, requested: dict[str, str] | None = None, **kw: object) -> dict[str, object]:
    return {"repo": "o/r", "number": n, "title": f"t{n}", "author": "alice",
            "opened_id": f"open-{n}", "requested": requested or {}, "state": "open", **kw}


def test_settings_take_plain_seconds_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("AGENTSTREAM_PR_RISK_FIRST_REVIEW_WITHIN", "90")
    assert PrRiskSettings().first_review_within == timedelta(seconds=90)


def test_large_pr_by_lines_or_files() -> None:
    assert large_pr(_pr(1, lines=400, files=20), S) is None
    big = large_pr(_pr(1, lines=401, files=1), S)
    assert big is not None and big.based_on == ("open-1",) and big.person == "alice"


def test_stale_review_cites_opening_requests_and_the_late_review() -> None:
    pr = _pr(1, {"bob": "req-1"}, first_review_id="rev-1")
    waiting = stale_review(pr, timedelta(hours=30), S)
    assert waiting.based_on == ("open-1", "req-1") and waiting.severity == "high"
    late = stale_review(pr, timedelta(hours=30), S, late_by="bob")
    assert late.based_on == ("open-1", "req-1", "rev-1") and "30 h" in late.title


def test_overload_and_imbalance_are_reported_once_per_episode() -> None:
    prs = [_pr(1, {"carol": "a"}), _pr(2, {"carol": "b"}), _pr(3, {"carol": "c", "dave": "d"})]
    load = pending_load(prs)
    risks, flags = review_load(load, {}, S, team="pay")
    assert sorted(r.kind for r in risks) == ["review-imbalance", "reviewer-overload"]
    assert {r.based_on for r in risks} == {("a", "b", "c")}
    again, flags2 = review_load(load, flags, S, team="pay")
    assert again == [] and flags2 == flags
    calm, flags3 = review_load(pending_load(prs[2:]), flags, S, team="pay")
    assert calm == [] and flags3 == {"overloaded": [], "imbalanced": None}
    back, _ = review_load(load, flags3, S, team="pay")
    assert len(back) == 2


def test_closed_prs_do_not_count_as_load() -> None:
    assert pending_load([_pr(1, {"carol": "a"}, state="merged")]) == {}


def test_build_failing_on_open_prs_else_on_the_branch() -> None:
    on_pr = build_failed("b1", repo="o/r", workflow="ci", branch="f", conclusion="failure",
                         prs=[_pr(1)], s=S)
    assert [(r.kind, r.based_on, r.subject) for r in on_pr] == [
        ("build-failing", ("b1", "open-1"), "o/r#1")
    ]
    [main] = build_failed("b2", repo="o/r", workflow="ci", branch="main", conclusion="failure",
                          prs=[], s=S)
    assert main.severity == "high" and main.based_on == ("b2",)


def test_a_load_wobbling_at_the_threshold_is_reported_once() -> None:
    four = [_pr(n, {"carol": f"r{n}"}) for n in range(1, 4)] + [_pr(9, {"dave": "d"})]
    risks, flags = review_load(pending_load(four), {}, S, team="pay")
    assert [r.kind for r in risks] == ["reviewer-overload", "review-imbalance"]
    # carol drops to 2 (the limit) and comes back to 3: still the same episode.
    down, flags = review_load(pending_load(four[1:]), flags, S, team="pay")
    up, flags = review_load(pending_load(four), flags, S, team="pay")
    assert down == [] and up == []
    # Down to 1 ends the overload; 3 again is a new one.
    _, flags = review_load(pending_load(four[2:]), flags, S, team="pay")
    again, _ = review_load(pending_load(four), flags, S, team="pay")
    assert "reviewer-overload" in [r.kind for r in again]


def test_a_failing_streak_is_reported_at_its_first_and_third_failure() -> None:
    def run(streak: list[str]) -> list[object]:
        pr = _pr(1, failing={"ci": streak})
        return build_failed(streak[-1], repo="o/r", workflow="ci", branch="f",
                            conclusion="failure", prs=[pr], s=S)

    [first] = run(["b1"])
    assert first.severity == "medium" and first.based_on == ("b1", "open-1")
    assert run(["b1", "b2"]) == []
    [third] = run(["b1", "b2", "b3"])
    assert third.severity == "high" and third.based_on == ("b1", "b2", "b3", "open-1")
