"""Agents ride out a broker restart (SIGTERM and SIGKILL of the broker) without being restarted.

Each test runs its own broker (never the session's): it is stopped mid-stream, kept away for a
while, and started again on the same port and data directory.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient
from tests.integration.agents.harness import pr, produce_events, serde_for, spawn_agent, wait_for

from agentstream.localkafka import LocalBroker, free_port
from agentstream.testing import WaitTimeoutError, consume_until, consumer, create_topic

pytestmark = pytest.mark.slow

TARGET = "tests.integration.agents.echo:agent"
FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})
AWAY = 8.0  # seconds the broker stays down


def _ready(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _handled(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _env(src: str, out: str, *, log: Path, stderr: Path, mode: str, ops: int) -> dict[str, str]:
    return {
        "ECHO_AGENT": "faulty", "ECHO_IN": src, "ECHO_OUT": out, "ECHO_LOG": str(log),
        "ECHO_DELAY_MS": "5", "AGENT_STDERR": str(stderr),
        "AGENTSTREAM_AGENT_MODE": mode, "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
        "AGENTSTREAM_AGENT_OPS_PORT": str(ops), "AGENTSTREAM_AGENT_OPS_HOST": "127.0.0.1",
        "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
    }


@pytest.fixture
def own_broker(tmp_path: Path):
    port = free_port()
    controller = free_port()
    while controller == port:
        controller = free_port()
    broker = LocalBroker(tmp_path / "broker", port=port, controller_port=controller)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_agent_resumes_by_itself_after_the_broker_restarts(
    own_broker: LocalBroker, tmp_path: Path, mode: str, how: str
) -> None:
    bootstrap = own_broker.bootstrap_servers
    src, out = "in-events", "out-events"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for t in (src, out):
        create_topic(admin, t, partitions=3)
    log = tmp_path / "handled.log"
    stderr = tmp_path / "agent.stderr"
    ops = free_port()
    env = _env(src, out, log=log, stderr=stderr, mode=mode, ops=ops)
    n = 400
    first = [pr(f"k{i % 40}", i) for i in range(n)]
    second = [pr(f"k{i % 40}", i) for i in range(n, 2 * n)]
    produce_events(bootstrap, src, first)
    proc = spawn_agent(TARGET, bootstrap, env)
    try:
        wait_for(lambda: _ready(ops) == 200, timeout=timedelta(seconds=60), what="agent ready")
        wait_for(lambda: _handled(log) >= n // 4, timeout=timedelta(seconds=60),
                 what="a quarter handled before the broker goes")
        if how == "sigterm":
            own_broker.stop()
        else:
            own_broker.kill()
        gone = time.monotonic()
        wait_for(lambda: _ready(ops) == 503, timeout=timedelta(seconds=30),
                 what="/readyz reporting not ready while the broker is away")
        time.sleep(max(0.0, AWAY - (time.monotonic() - gone)))  # the outage itself
        assert proc.poll() is None, "the agent survived the outage"
        own_broker.start()
        produce_events(bootstrap, src, second)
        got = _committed_outputs(bootstrap, out, 2 * n, log=log, stderr=stderr)
        wait_for(lambda: _ready(ops) == 200, timeout=timedelta(seconds=60),
                 what="/readyz ready again")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
    assert rc == 0, stderr.read_text()[-3000:]
    serde = serde_for(bootstrap)
    titles = Counter(int(serde.decode(out, m.value()).title) for m in got if m.error() is None)
    assert set(titles) == set(range(2 * n)), "nothing lost"
    if mode == "exactly-once":
        dup = {t: c for t, c in titles.items() if c > 1}
        assert not dup, f"{len(dup)} outputs visible twice to read_committed readers"
    _assert_quiet_log(stderr.read_text())


def _committed_outputs(
    bootstrap: str, out: str, n: int, *, log: Path, stderr: Path
) -> list[Message]:
    """Every output visible to read_committed readers once ``n`` distinct ones are there."""
    with consumer(bootstrap, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([out])
        try:
            got = consume_until(c, until=lambda ms: len({m.value() for m in ms}) >= n,
                                timeout=timedelta(seconds=180))
        except WaitTimeoutError as exc:
            handled = {int(ln.split()[2]) for ln in log.read_text().splitlines()}
            missing = sorted(set(range(n)) - handled)
            tail = "\n".join(ln for ln in stderr.read_text().splitlines()
                             if not ln.startswith("%"))[-6000:]
            raise AssertionError(f"{exc}; never handled: {missing[:50]}\n{tail}") from exc
        return got + c.consume(num_messages=10_000, timeout=3)


def _assert_quiet_log(text: str) -> None:
    """One line per reachability change, librdkafka's reconnect attempts collapsed."""
    state_lines = [ln for ln in text.splitlines() if "broker unreachable" in ln
                   or "broker reachable" in ln]
    assert 1 <= len(state_lines) <= 6, state_lines
    noisy = [ln for ln in text.splitlines() if "Connection refused" in ln]
    assert len(noisy) <= 10, f"{len(noisy)} connection-refused lines: a flood"


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_workflows_and_timers_in_flight_resume_after_the_broker_restarts(
    own_broker: LocalBroker, tmp_path: Path, mode: str
) -> None:
    bootstrap = own_broker.bootstrap_servers
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = {"timers": "timer-triggers", "runs": "run-triggers", "out": "reminders",
              "done": "run-completions"}
    for t in topics.values():
        create_topic(admin, t, partitions=2)
    log, stderr, ops = tmp_path / "steps.log", tmp_path / "agent.stderr", free_port()
    env = {
        "DURABLE_AGENT": "durable", "DURABLE_WORKFLOW": "durable-wf", "DURABLE_AFTER": "6",
        "DURABLE_TIMERS_IN": topics["timers"], "DURABLE_RUNS_IN": topics["runs"],
        "DURABLE_OUT": topics["out"], "DURABLE_DONE": topics["done"], "DURABLE_LOG": str(log),
        "DURABLE_HANDLED": str(tmp_path / "timers.log"),
        "AGENT_STDERR": str(stderr), "AGENTSTREAM_AGENT_MODE": mode,
        "AGENTSTREAM_AGENT_INSTANCE_ID": "one", "AGENTSTREAM_AGENT_OPS_PORT": str(ops),
        "AGENTSTREAM_AGENT_OPS_HOST": "127.0.0.1", "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
    }
    n = 60
    # Distinct events per topic: the dedupe key is the event id, one fact per agent.
    timer_events = [pr(f"k{i % 12}", i) for i in range(n)]
    run_events = [pr(f"k{i % 12}", i) for i in range(n)]
    proc = spawn_agent("tests.integration.agents.durable:agent", bootstrap, env)
    try:
        wait_for(lambda: _ready(ops) == 200, timeout=timedelta(seconds=60), what="agent ready")
        produce_events(bootstrap, topics["timers"], timer_events)
        produce_events(bootstrap, topics["runs"], run_events)
        wait_for(lambda: _handled(log) >= 10, timeout=timedelta(seconds=60),
                 what="workflow steps running before the broker goes")
        own_broker.kill()
        wait_for(lambda: _ready(ops) == 503, timeout=timedelta(seconds=30),
                 what="/readyz reporting not ready while the broker is away")
        time.sleep(AWAY)
        assert proc.poll() is None, "the agent survived the outage"
        own_broker.start()
        serde = serde_for(bootstrap)
        reminders = _read_until(bootstrap, topics["out"], n, key=lambda m: serde.decode(
            topics["out"], m.value()).meta.id)
        completions = _read_until(bootstrap, topics["done"], n, key=lambda m: m.key())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:  # drain (30 s) + closing the workflow and timer writers (30 s each at most)
            rc = proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
    assert rc == 0, stderr.read_text()[-3000:]
    fire_ids: dict[str, set[bytes]] = {}
    for m in reminders:
        event_id = serde.decode(topics["out"], m.value()).meta.id
        fire_ids.setdefault(event_id, set()).add(dict(m.headers())["agentstream.timer.fire_id"])
    assert len(fire_ids) == n and all(len(f) == 1 for f in fire_ids.values()), "fired once each"
    runs = Counter(m.key() for m in completions)
    assert len(runs) == n, "every run completed"
    steps = Counter(tuple(line.split()) for line in log.read_text().splitlines())
    assert {s for _, s in steps} == {"first", "second"} and len(steps) == 2 * n
    if mode == "exactly-once":
        assert len(reminders) == n, "each firing visible once to read_committed readers"
        assert set(runs.values()) == {1}, "each completion visible once"


def _read_until(bootstrap: str, topic: str, n: int, *, key: object) -> list[Message]:
    """read_committed records of ``topic`` once ``n`` distinct keys (``key(msg)``) are there."""
    with consumer(bootstrap, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([topic])
        got = consume_until(c, until=lambda ms: len({key(m) for m in ms}) >= n,  # type: ignore[operator]
                            timeout=timedelta(seconds=180))
        return got + c.consume(num_messages=10_000, timeout=3)
