"""AgentStream doing the passthrough: a typed handler that re-emits each event through ``ctx.emit``.

Same command line and RESULT line as the peers (``peers/_wire.py``). Runs the real runtime
(``AgentRunner``: consumer thread, key-ordered scheduler, idempotent or transactional producer,
the one committer) with its defaults except ``max_in_flight``/``mode`` from the arguments; the
ops HTTP server is off. Figures count from the first handled event until ``--count`` events are
*finished* (handled and every output acknowledged), and under exactly-once until the transaction
covering them has committed (only then can a read_committed consumer see them): the runner is
stopped then, which commits at once, as the Quix Streams peer's ``stop()`` checkpoints at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from _wire import HANDLER_SOURCE, emit_result, mark_cpu, peer_args
from confluent_kafka import KafkaException

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, AgentRunner, AgentSettings, Context

CONTENDER = "agentstream"
_TICK = 0.01


def build_agent(args: Any, state: dict[str, Any]) -> Agent:
    agent = Agent(f"bench-{args.group}", version="1.0.0", emits=[PullRequestOpened])
    slow = args.slow_ms / 1000
    source = HANDLER_SOURCE.format(contender=CONTENDER)

    @agent.handler(PullRequestOpened, topic=args.input)
    async def passthrough(event: PullRequestOpened, ctx: Context) -> None:
        if state["started"] is None:
            state["started"] = time.monotonic()
            mark_cpu()
        if slow:
            await asyncio.sleep(slow)
        out = event.replace(meta=event.meta.replace(source=source))
        await ctx.emit(out, topic=args.output)

    return agent


async def run(args: Any, state: dict[str, Any]) -> None:
    settings = AgentSettings(
        group_id=args.group,
        mode="exactly-once" if args.mode == "exactly_once" else "at-least-once",
        ops_port=None,
        **({"max_in_flight": args.max_in_flight} if args.max_in_flight > 0 else {}),
    )
    runner = AgentRunner(build_agent(args, state), settings=settings,
                         kafka=KafkaSettings(bootstrap_servers=args.bootstrap))
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + args.max_seconds + 60
    finished = 0
    try:
        while not task.done() and time.monotonic() < deadline:
            await asyncio.sleep(_TICK)
            try:
                stats = runner.stats()
            except RuntimeError:  # not wired yet
                continue
            finished = stats.scheduler.finished
            capped = state["started"] is not None and (
                time.monotonic() - state["started"] > args.max_seconds
            )
            if finished >= args.count or capped:
                break
        if task.done():
            task.result()  # surfaces the runtime's fatal error
        if args.mode == "exactly_once":
            # Outputs are visible only once the transaction covering them commits. Stopping
            # commits at once (as Quix's stop() checkpoints at once) instead of at the next
            # commit_interval, which would add half an interval on average to the figure.
            commits = runner.stats().commits
            runner.stop()
            while runner.stats().commits <= commits and time.monotonic() < deadline:
                await asyncio.sleep(_TICK)
        emit_result(CONTENDER, processed=finished, started=state["started"], mode=args.mode,
                    max_in_flight=settings.max_in_flight)
    finally:
        runner.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 60)


def main() -> None:
    args = peer_args(__doc__ or CONTENDER)
    logging.basicConfig(level=logging.WARNING)
    for attempt in (1, 2):
        state: dict[str, Any] = {"started": None}
        try:
            asyncio.run(run(args, state))
            return
        except KafkaException as exc:
            # A start-up race on topics the runtime creates for a new agent (its dedupe topic)
            # is retried once; anything after the first handled event is a real failure.
            if attempt == 2 or state["started"] is not None:
                raise
            print(f"start-up failed ({exc}); retrying once", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
