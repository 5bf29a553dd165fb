"""The runner's garbage-collector tuning is scoped to running agents and restores the defaults."""

from __future__ import annotations

import gc

from agentstream.runtime._runner import tuned_gc


def test_tuning_raises_gen0_while_agents_run_and_restores_after_the_last() -> None:
    before = gc.get_threshold()
    with tuned_gc(True):
        raised = gc.get_threshold()
        assert raised[0] >= 50_000 and gc.get_freeze_count() > 0
        with tuned_gc(True):  # a second runner in the same process
            pass
        assert gc.get_threshold() == raised, "the inner runner must not restore early"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_disabled_tuning_changes_nothing() -> None:
    before = gc.get_threshold()
    with tuned_gc(False):
        assert gc.get_threshold() == before
