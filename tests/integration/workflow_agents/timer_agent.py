"""Schedules one durable timer, writes ``marker`` with its id, then waits to be killed.

    python timer_agent.py BOOTSTRAP TIMERS_TOPIC SERVICE DELIVER_TOPIC MARKER SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from agentstream.config import KafkaSettings
from agentstream.workflow import TimerService


async def main() -> None:
    bootstrap, timers_topic, service, deliver, marker, seconds = sys.argv[1:7]
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    async with TimerService(service, settings=settings, topic=timers_topic) as timers:
        timer_id = await timers.schedule(
            b"wake up", after=timedelta(seconds=float(seconds)), topic=deliver, key="reminder"
        )
        Path(marker).write_text(timer_id)
        await asyncio.Event().wait()  # killed here, before the timer is due


if __name__ == "__main__":
    asyncio.run(main())
