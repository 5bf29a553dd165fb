"""Agent processes (`agentstream run`): SIGTERM, SIGKILL + restart, and a rebalance mid-run."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from tests.integration.agents.harness import pr, produce_events, serde_for, spawn_agent, wait_for

from agentstream.testing import consume_until, consumer

TARGET = "tests.integration.agents.echo:agent"
FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})


def _lines(log: Path) -> list[tuple[str, str, int]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append((parts[0], parts[1], int(parts[2])))
    return out


def _env(name: str, src: str, out: str, log: Path, **extra: str) -> dict[str, str]:
    return {
        "ECHO_AGENT": name, "ECHO_IN": src, "ECHO_OUT": out, "ECHO_LOG": str(log),
        "AGENT_STDERR": str(log.with_suffix(".stderr")),
        "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP, **extra,
    }


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 40) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def _outputs_with_ids(
    bootstrap: str, out: str, n: int, *, committed: bool
) -> list[tuple[int, str]]:
    """(input index, output event id) of every output record, duplicates included."""
    serde = serde_for(bootstrap)
    iso = "read_committed" if committed else "read_uncommitted"
    with consumer(bootstrap, **{"isolation.level": iso}) as c:
        c.subscribe([out])
        got = consume_until(
            c, until=lambda ms: len({m.value() for m in ms}) >= n, timeout=timedelta(seconds=120)
        )
        got += c.consume(num_messages=10_000, timeout=2)  # anything extra (duplicates)
    decoded = [serde.decode(out, m.value()) for m in got if m.error() is None]
    return [(int(e.title), e.meta.id) for e in decoded]


def test_sigterm_exits_zero_and_commits_what_it_handled(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=2)
    name = f"term-{src}"
    log = tmp_path / "handled.log"
    events = [pr(f"k{i % 20}", i) for i in range(600)]
    produce_events(bootstrap_servers, src, events)
    env = _env(name, src, out, log, ECHO_DELAY_MS="20", AGENTSTREAM_AGENT_SHUTDOWN_TIMEOUT="10")
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: len(_lines(log)) >= 50, timeout=timedelta(seconds=60),
                 what="50 handled events")
    finally:
        rc = _stop(proc, timeout=10 + 20)
    assert rc == 0, (log.with_suffix(".stderr")).read_text()[-3000:]
    handled = {line[0] for line in _lines(log)}
    assert len(handled) < len(events), "stopped mid-stream"
    with consumer(bootstrap_servers, group=name) as c:
        committed = c.committed([TopicPartition(src, p) for p in (0, 1)], timeout=10)
    by_partition = _partition_offsets(bootstrap_servers, src)
    covered = 0
    assert max(tp.offset for tp in committed) > 0, "something was committed"
    for tp in committed:
        for offset, event_id in by_partition[tp.partition]:
            if offset < tp.offset:
                covered += 1
                assert event_id in handled, "committed past an input that was not handled"
    assert covered > 0
    # A restart finishes the rest without handling anything twice.
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: len({x[0] for x in _lines(log)}) == len(events),
                 timeout=timedelta(seconds=120), what="all events handled after restart")
    finally:
        assert _stop(proc, timeout=30) == 0
    counts = Counter(x[0] for x in _lines(log))
    assert max(counts.values()) == 1, "clean stop + restart must not handle an event twice"


def _partition_offsets(bootstrap: str, topic: str) -> dict[int, list[tuple[int, str]]]:
    serde = serde_for(bootstrap)
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    with consumer(bootstrap) as c:
        c.subscribe([topic])
        for m in consume_until(c, count=600, timeout=timedelta(seconds=60)):
            out[m.partition()].append((m.offset(), serde.decode(topic, m.value()).meta.id))
    return out


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_sigkill_and_restart(
    mode: str, bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=3), topic_factory(partitions=3)
    name = f"kill-{src}"
    log = tmp_path / "handled.log"
    n = 1500
    events = [pr(f"k{i % 60}", i) for i in range(n)]
    produce_events(bootstrap_servers, src, events)
    env = _env(
        name, src, out, log, ECHO_DELAY_MS="4",
        AGENTSTREAM_AGENT_MODE=mode,
        AGENTSTREAM_AGENT_MAX_IN_FLIGHT="16",
        AGENTSTREAM_AGENT_MAX_PENDING="48",
        # Rare commits: without dedupe a crash would redo hundreds of handled inputs.
        AGENTSTREAM_AGENT_COMMIT_INTERVAL="60" if mode == "at-least-once" else "0.2",
        AGENTSTREAM_AGENT_INSTANCE_ID="one",
    )
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: len(_lines(log)) >= 400, timeout=timedelta(seconds=90),
                 what="400 handled events before the kill")
    finally:
        proc.kill()
        proc.wait(10)
    before = len(_lines(log))
    assert before < n, "killed mid-stream"
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: len({x[0] for x in _lines(log)}) == n, timeout=timedelta(seconds=150),
                 what="every input handled after restart")
        with_ids = _outputs_with_ids(bootstrap_servers, out, n, committed=mode == "exactly-once")
    finally:
        assert _stop(proc) == 0
    outputs = [index for index, _ in with_ids]
    assert set(outputs) == set(range(n)), "every input has its output"
    # A re-handled input re-emits its output under the same deterministic id, so a downstream
    # consumer that dedupes on event id sees every output once.
    ids_per_input: dict[int, set[str]] = defaultdict(set)
    for index, event_id in with_ids:
        ids_per_input[index].add(event_id)
    assert all(len(ids) == 1 for ids in ids_per_input.values()), "re-emits must keep their id"
    if mode == "exactly-once":
        dup = [k for k, v in Counter(outputs).items() if v > 1]
        assert dup == [], f"read_committed saw outputs twice: {dup[:10]}"
    else:
        counts = Counter(x[0] for x in _lines(log))
        twice = sum(1 for v in counts.values() if v > 1)
        # Only inputs without an acknowledged marker at the moment of SIGKILL may be handled
        # again: the unfinished ones (at most max_pending, 48) and those finished while their
        # marker was on its way (markers go out once per producer poll, ~50 ms of work; 100
        # allowed here). Without dedupe all ~400+ inputs since the last commit would run again.
        assert twice <= 48 + 100, f"{twice} inputs handled twice"


def test_rebalance_when_one_of_two_processes_stops(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=4), topic_factory(partitions=4)
    name = f"reb-{src}"
    log = tmp_path / "handled.log"
    n = 1500
    events = [pr(f"k{i % 40}", i) for i in range(n)]
    produce_events(bootstrap_servers, src, events)
    env = _env(name, src, out, log, ECHO_DELAY_MS="10", AGENTSTREAM_AGENT_MAX_IN_FLIGHT="8")
    first = spawn_agent(TARGET, bootstrap_servers, env)
    second = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: len(_lines(log)) >= 300, timeout=timedelta(seconds=90),
                 what="300 handled by two processes")
        assert _stop(first) == 0
        wait_for(lambda: len({x[0] for x in _lines(log)}) == n, timeout=timedelta(seconds=150),
                 what="the remaining process finishing every input")
    finally:
        if first.poll() is None:
            first.kill()
        rc = _stop(second)
    assert rc == 0
    lines = _lines(log)
    counts = Counter(x[0] for x in lines)
    assert max(counts.values()) == 1, "no input handled twice across a clean rebalance"
    per_key: dict[str, list[int]] = defaultdict(list)
    for _, key, number in lines:
        per_key[key].append(number)
    for key, numbers in per_key.items():
        assert numbers == [e.number for e in events if e.meta.subject == key], key


def test_exactly_once_zombie_is_fenced_and_exits_cleanly(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=2)
    name = f"fence-{src}"
    log = tmp_path / "handled.log"
    produce_events(bootstrap_servers, src, [pr(f"k{i % 10}", i) for i in range(3000)])
    # Two handlers at a time: the first process must still be writing when the second one
    # (same instance id) starts; an idle producer learns of its fencing only when it writes.
    env = _env(name, src, out, log, ECHO_DELAY_MS="5", AGENTSTREAM_AGENT_MODE="exactly-once",
               AGENTSTREAM_AGENT_INSTANCE_ID="same", AGENTSTREAM_AGENT_COMMIT_INTERVAL="0.2",
               AGENTSTREAM_AGENT_MAX_IN_FLIGHT="2")
    zombie = spawn_agent(TARGET, bootstrap_servers, env)
    successor = None
    try:
        wait_for(lambda: len(_lines(log)) >= 100, timeout=timedelta(seconds=60),
                 what="the first process handling events")
        # A second process with the same instance id takes over the transactional id.
        successor = spawn_agent(TARGET, bootstrap_servers,
                                {**env, "AGENT_STDERR": str(tmp_path / "successor.stderr")})
        rc = zombie.wait(timeout=60)
    finally:
        for proc in (zombie, successor):
            if proc is not None and proc.poll() is None:
                _stop(proc)
    stderr = log.with_suffix(".stderr").read_text()
    assert rc == 1, stderr[-2000:]
    assert "FENCED" in stderr and "another instance of this agent took over" in stderr


@pytest.mark.parametrize("delay", [0.15, 0.4, 1.0, 2.5])
def test_sigterm_while_starting_exits_zero(
    bootstrap_servers: str, topic_factory, tmp_path: Path, delay: float
) -> None:
    src, out = topic_factory(), topic_factory()
    log = tmp_path / "handled.log"
    proc = spawn_agent(TARGET, bootstrap_servers, _env(f"early-{src}", src, out, log))
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=delay)
    assert proc.returncode is None, "still starting when the signal is sent"
    code = _stop(proc)
    assert code == 0, log.with_suffix(".stderr").read_text()[-2000:]
