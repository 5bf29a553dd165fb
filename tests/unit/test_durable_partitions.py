"""Which runs and timers a process owns follows its input partitions (no broker needed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any

from agentstream.config import KafkaSettings
from agentstream.runtime._durable import Durable, WorkflowBinding
from agentstream.workflow import StepContext, Workflow


class FakeOwner:
    """Stands for a WorkflowEngine or TimerService: records assign/revoke calls."""

    def __init__(self) -> None:
        self.owned: set[int] = set()
        self.calls: list[tuple[str, list[int]]] = []

    def assign(self, partitions: Iterable[int], **_: Any) -> None:
        ps = sorted(partitions)
        self.calls.append(("assign", ps))
        self.owned.update(ps)

    async def ready(self, partitions: Iterable[int] | None = None) -> None:
        return None

    def revoke(self, partitions: Iterable[int]) -> Any:
        ps = sorted(partitions)
        self.calls.append(("revoke", ps))
        self.owned.difference_update(ps)
        return asyncio.sleep(0)


def _durable() -> tuple[Durable, FakeOwner, FakeOwner]:
    wf = Workflow("wf")

    @wf.step()
    async def only(ctx: StepContext, inputs: Any) -> int:
        return 1

    binding = WorkflowBinding(wf, object, "runs-in")
    engine, timers = FakeOwner(), FakeOwner()
    binding.engine = engine  # type: ignore[assignment]
    d = Durable(agent="a", bindings=[binding], timers=True, kafka=KafkaSettings(),
                mode="at-least-once", codec=None)  # type: ignore[arg-type]
    d.timers = timers  # type: ignore[assignment]
    return d, engine, timers


def test_runs_follow_the_trigger_topic_and_timers_any_input_partition() -> None:
    async def main() -> None:
        d, engine, timers = _durable()
        d._loop, d._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        d.assign([("runs-in", 0), ("other", 0), ("other", 1)])
        assert engine.owned == {0}, "runs: partitions of the trigger topic only"
        assert timers.owned == {0, 1}, "timers: every assigned partition number"
        d.revoke([("other", 0)])
        await asyncio.sleep(0)
        assert timers.owned == {0, 1}, "partition 0 of runs-in is still assigned"
        assert engine.owned == {0}
        d.revoke([("runs-in", 0)])
        await asyncio.sleep(0)
        assert engine.owned == set() and timers.owned == {1}
        d.assign([("runs-in", 1)])
        assert timers.calls == [("assign", [0, 1]), ("revoke", [0])], "1 was held already"
        assert engine.owned == {1}

    asyncio.run(main())


def test_the_consumer_thread_waits_for_the_loop() -> None:
    """From another thread, assign and revoke return once the loop did the work."""

    async def main() -> None:
        d, engine, timers = _durable()
        d._loop, d._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        await asyncio.to_thread(d.assign, [("runs-in", 2)])
        assert engine.owned == {2} and timers.owned == {2}
        await asyncio.to_thread(d.revoke, [("runs-in", 2)])
        assert engine.owned == set() and timers.owned == set()

    asyncio.run(main())
