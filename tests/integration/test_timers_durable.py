"""Durable timers on the real broker: survive a SIGKILL, fire once, cancel, overdue schedules."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner
from workflow_agents.helpers import read_all, spawn, wait_for_file

from agentstream.cli import app
from agentstream.config import KafkaSettings
from agentstream.testing import produce, unique_name
from agentstream.workflow import FiredTimer, Timer, TimerService, read_timers

COMPACT = {"cleanup.policy": "compact"}


def _fire_ids(bootstrap: str, topic: str) -> list[str]:
    return [
        dict(m.headers())["agentstream.timer.fire_id"].decode() for m in read_all(bootstrap, topic)
    ]


async def _until(cond: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_timer_survives_sigkill_of_its_agent_and_fires_once_on_start(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    timers_topic = topic_factory(partitions=3, config=COMPACT)
    deliver = topic_factory()
    service = unique_name("svc")
    marker, out = tmp_path / "marker", tmp_path / "child.out"
    child = spawn(
        "timer_agent.py",
        [bootstrap_servers, timers_topic, service, deliver, str(marker), "5"],
        out,
    )
    timer_id = wait_for_file(marker, child, out, timeout=60)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    [stored] = read_timers(settings, topic=timers_topic)
    assert (stored.timer_id, stored.service, stored.payload) == (timer_id, service, b"wake up")

    # Everything stays down until the timer is due: it must fire on start, not be lost.
    await asyncio.sleep(max(0.0, (stored.due - datetime.now(UTC)).total_seconds()) + 0.2)
    fired: list[FiredTimer] = []

    async def on_fire(t: FiredTimer) -> None:
        fired.append(t)

    async with TimerService(service, settings=settings, topic=timers_topic,
                            on_fire=on_fire) as timers:
        await _until(lambda: fired and not timers.pending(), "the overdue timer to fire")
    assert [(f.timer_id, f.payload, f.key) for f in fired] == [(timer_id, b"wake up", "reminder")]
    assert _fire_ids(bootstrap_servers, deliver) == [stored.fire_id]
    assert read_timers(settings, topic=timers_topic) == []  # tombstoned: fired

    # Another restart does not fire it again.
    async with TimerService(service, settings=settings, topic=timers_topic) as timers:
        assert timers.pending() == []
    assert _fire_ids(bootstrap_servers, deliver) == [stored.fire_id]


async def test_timer_fires_after_restart_before_due_and_cancel_removes_it(
    bootstrap_servers: str, topic_factory
) -> None:
    timers_topic = topic_factory(partitions=3, config=COMPACT)
    deliver = topic_factory()
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    service = unique_name("svc")
    async with TimerService(service, settings=settings, topic=timers_topic) as timers:
        # Due late enough that the restart below happens before it, on a loaded machine too
        # (at 2 s a slow CI run reopened after the due time and the timer fired on load).
        keep = await timers.schedule(b"keep", after=timedelta(seconds=8), topic=deliver)
        drop = await timers.schedule(b"drop", after=timedelta(seconds=8), topic=deliver)
        assert await timers.cancel(drop)
        assert [t.timer_id for t in timers.pending()] == [keep]
    # Closed before due: the stored timer is armed again by the next instance and fires there.
    assert [t.timer_id for t in read_timers(settings, topic=timers_topic)] == [keep]

    result = CliRunner().invoke(
        app, ["timers", "list", "--topic", timers_topic, "--service", service],
        env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers},
    )
    assert result.exit_code == 0 and keep in result.output and drop not in result.output

    fired: list[str] = []

    async def on_fire(t: FiredTimer) -> None:
        fired.append(t.timer_id)

    async with TimerService(service, settings=settings, topic=timers_topic,
                            on_fire=on_fire) as timers:
        assert [t.timer_id for t in timers.pending()] == [keep]
        await _until(lambda: fired == [keep] and not timers.pending(), "the timer to fire")
    assert [m.value() for m in read_all(bootstrap_servers, deliver)] == [b"keep"]


async def test_overdue_schedule_fires_once_on_start_then_moves_to_its_next_occurrence(
    bootstrap_servers: str, topic_factory
) -> None:
    timers_topic = topic_factory(partitions=1, config=COMPACT)
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    service = unique_name("svc")
    # Stored as a running service would have, then three occurrences missed while down.
    missed = Timer(service, "briefing", datetime.now(UTC) - timedelta(days=3),
                   b"brief", cron="0 9 * * *", tz="Europe/Berlin")
    produce(bootstrap_servers, timers_topic, [(missed.record_key, missed.to_bytes())])
    fired: list[FiredTimer] = []

    async def on_fire(t: FiredTimer) -> None:
        fired.append(t)

    async with TimerService(service, settings=settings, topic=timers_topic,
                            on_fire=on_fire) as timers:
        await _until(
            lambda: fired and timers.pending() and timers.pending()[0].due > missed.due,
            "the schedule to fire and re-arm",
        )
        # Declaring the same schedule again (as a service does on every start) changes nothing.
        assert await timers.schedule_cron(
            "daily 09:00 Europe/Berlin", b"brief", timer_id="briefing"
        ) == "briefing"
        [nxt] = timers.pending()
    assert [(f.timer_id, f.fire_id, f.recurring) for f in fired] == [
        ("briefing", missed.fire_id, True)
    ]
    assert nxt.due > datetime.now(UTC)
    assert nxt.due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).hour == 9
    assert read_timers(settings, topic=timers_topic) == [nxt]
