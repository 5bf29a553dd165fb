"""``python -m services.daily_briefing``: the briefing agent and its durable daily schedule.

The schedule is a durable timer per team (``TimerService`` ``daily-briefing.schedule``): each
firing publishes a ``BriefingRequested`` whose id derives from the firing's id, so a firing
repeated after a crash starts no second run.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from datetime import UTC, datetime

from agentstream.bus import make_producer
from agentstream.config import KafkaSettings, check_environment
from agentstream.runtime import AgentRunner
from agentstream.serde import make_serde
from agentstream.workflow import FiredTimer, TimerService
from services.daily_briefing.agent import SETTINGS, agent, request

_NS = uuid.UUID("1c0b5e7a-93d4-4a8f-8e21-6f3a2d9b0c57")
log = logging.getLogger("services.daily_briefing")


async def _main() -> None:
    check_environment()
    kafka = KafkaSettings()
    serde = make_serde(kafka)
    runner = AgentRunner(agent, kafka=kafka)

    async def fire(t: FiredTimer) -> None:
        team = t.payload.decode()
        end = datetime.now(UTC)
        req = request(
            team,
            audience=SETTINGS.audience,
            start=end - SETTINGS.period,
            end=end,
            requested_by="schedule",
            event_id=str(uuid.uuid5(_NS, f"{t.fire_id}|{team}")),
        )

        p = make_producer(kafka.client_config(**{"enable.idempotence": True}))
        p.produce(
            SETTINGS.requests_topic,
            key=team.encode(),
            value=serde.encode(SETTINGS.requests_topic, req),
        )
        if await asyncio.to_thread(p.flush, 30):
            raise RuntimeError("scheduled BriefingRequested was not acknowledged in 30 s")
        log.info("scheduled briefing requested for %s (%s)", team, req.meta.id)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop)
    if SETTINGS.schedule:
        async with TimerService(
            f"{SETTINGS.workflow_name}.schedule", settings=kafka, on_fire=fire
        ) as timers:
            for team in SETTINGS.teams:
                await timers.schedule_cron(SETTINGS.schedule, team.encode(), key=team)
            await runner.run()
    else:
        await runner.run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(_main())


if __name__ == "__main__":
    main()
