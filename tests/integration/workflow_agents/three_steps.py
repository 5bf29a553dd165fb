"""A 3-step workflow in its own process, for the crash/resume test.

Every step execution appends its name to a side-effect log (fsynced), so the test can count
executions across processes. With ``--hang-before step3`` the process writes ``marker`` when
step 3 starts (which proves step 2's checkpoint was acknowledged) and then blocks until killed.

    python three_steps.py BOOTSTRAP WORKFLOW LOG MARKER MODE [--hang-before STEP]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentstream.config import KafkaSettings
from agentstream.workflow import StepContext, Workflow, WorkflowEngine


def side_effect(log: Path, line: str) -> None:
    with log.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def build(name: str, log: Path, marker: Path, hang_before: str | None) -> Workflow:
    wf = Workflow(name)

    async def step(ctx: StepContext, inputs: Any) -> dict[str, Any]:
        if ctx.step == hang_before:
            marker.write_text(ctx.run_id)
            await asyncio.Event().wait()  # killed here
        side_effect(log, f"{ctx.step} {ctx.idempotency_key}")
        previous = [ctx.results[d]["n"] for d in ctx.results]
        return {"n": inputs["n"] + len(previous), "step": ctx.step}

    for name_ in ("step1", "step2", "step3"):
        wf.step(name=name_)(step)
    return wf


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("workflow")
    ap.add_argument("log", type=Path)
    ap.add_argument("marker", type=Path)
    ap.add_argument("mode", choices=["at-least-once", "exactly-once"])
    ap.add_argument("--hang-before")
    args = ap.parse_args()
    wf = build(args.workflow, args.log, args.marker, args.hang_before)
    settings = KafkaSettings(bootstrap_servers=args.bootstrap)
    async with WorkflowEngine(wf, settings=settings, mode=args.mode, partitions=1) as engine:
        resumed = await engine.resume_all()
        print(f"resumed {resumed}", flush=True)
        # The trigger is delivered again after the crash: it must not start a second run.
        run_id = await engine.start({"n": 1}, trigger_id="trigger-1")
        outcome = await engine.wait(run_id, timeout=timedelta(seconds=60))
        print(f"outcome {outcome.status} {outcome.event_id}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
