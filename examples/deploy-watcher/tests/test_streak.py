"""The ``streaks`` reducer on its own: what the memory store folds from each event."""

from __future__ import annotations

from deploywatch.agent import fold_streak
from deploywatch.events import DeployOutcome
from support import finished, started


def test_failures_accumulate_and_a_success_ends_the_streak() -> None:
    f1 = finished("billing", "prod", "v1", DeployOutcome.FAILED)
    f2 = finished("billing", "prod", "v2", DeployOutcome.ROLLED_BACK)
    state = fold_streak(fold_streak(None, f1), f2)
    assert state == {"failed": [f1.meta.id, f2.meta.id]}
    assert fold_streak(state, started("billing", "prod", "v3")) is state  # not a finish
    assert fold_streak(state, finished("billing", "prod", "v3", DeployOutcome.SUCCEEDED)) is None


def test_folding_the_same_event_again_changes_nothing() -> None:
    f1 = finished("billing", "prod", "v1", DeployOutcome.FAILED)
    once = fold_streak(None, f1)
    assert fold_streak(once, f1) == once == {"failed": [f1.meta.id]}


def test_the_evidence_is_bounded() -> None:
    state = None
    for i in range(30):
        state = fold_streak(state, finished("billing", "prod", f"v{i}", DeployOutcome.FAILED))
    assert len(state["failed"]) == 20
