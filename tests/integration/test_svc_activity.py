"""activity, the Faust app, as its own process: repository x day and channel x hour windows and
PR cycle times (pickup, review, merge) as ActivitySummary citing input events; after a restart
its tables are recovered and re-published windows keep their ids."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from svc.events import merged, message, opened, publish, read_records, reviewed
from typer.testing import CliRunner

from agentstream.cli import app as cli
from agentstream.config import KafkaSettings
from agentstream.discovery import read_topology
from agentstream.events import ReviewState
from agentstream.serde import make_serde
from agentstream.testing import produce, unique_name

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/payments"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@contextmanager
def _app(bootstrap: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap, "PYTHONPATH": str(ROOT), **env}
    full.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    with log.open("ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "services.activity"], cwd=ROOT,
                                env=full, stdout=f, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _alive(proc: subprocess.Popen[bytes], log: Path, pred: Any) -> Any:
    def check(rs: list[Any]) -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"activity exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        return bool(pred(rs))
    return check


def _dead_letters(bootstrap: str, app_id: str) -> str:
    """``agentstream dlq list`` of the app, once it shows a dead letter (at most 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        letters = CliRunner().invoke(cli, ["dlq", "list", app_id],
                                     env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
        assert letters.exit_code == 0, letters.output
        if "Error" in letters.output or time.monotonic() > deadline:
            return str(letters.output)
        time.sleep(0.5)


def test_windows_and_cycle_times(bootstrap_servers: str, topic_factory: Any,
                                 tmp_path: Path) -> None:
    code, chat, out = topic_factory(partitions=3), topic_factory(partitions=3), topic_factory()
    log = tmp_path / "activity.log"
    env = {
        "AGENTSTREAM_ACTIVITY_APP_ID": unique_name("activity"),
        "AGENTSTREAM_ACTIVITY_INSTANCE_ID": "faust-inst-1",
        "AGENTSTREAM_ACTIVITY_CODE_TOPIC": code,
        "AGENTSTREAM_ACTIVITY_CHAT_TOPIC": chat,
        "AGENTSTREAM_ACTIVITY_ACTIVITY_TOPIC": out,
        "AGENTSTREAM_ACTIVITY_STATE_DIR": str(tmp_path / "state"),
        "AGENTSTREAM_ACTIVITY_TEAM": "payments",
        "AGENTSTREAM_ACTIVITY_GRACE": "0",
        "AGENTSTREAM_ACTIVITY_IDLE": "1",
        "AGENTSTREAM_ACTIVITY_FLUSH_INTERVAL": "1",
    }
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    pr1 = opened(REPO, 1, "alice", at=T0)
    first = reviewed(REPO, 1, "bob", at=T0 + timedelta(hours=2))
    first = dataclasses.replace(first, state=ReviewState.COMMENTED)
    approve = reviewed(REPO, 1, "bob", at=T0 + timedelta(hours=5))
    merge = merged(REPO, 1, "alice", at=T0 + timedelta(hours=6))
    pr2 = opened(REPO, 2, "carol", at=T0 + timedelta(hours=1))
    code_events = [pr1, first, approve, merge, pr2]
    msgs = [message("C1", "alice", at=T0 + timedelta(hours=1, minutes=m)) for m in (5, 50)]
    msgs.append(message("C1", "bob", at=T0 + timedelta(hours=3, minutes=1)))
    inputs = {e.meta.id for e in [*code_events, *msgs]}

    def complete(rs: list[Any]) -> bool:
        ents = {r.entity for r in rs}
        hours = [r for r in rs if r.entity == "channel:C1"]
        return {f"pr:{REPO}#1", f"repo:{REPO}"} <= ents and len(hours) >= 2

    with _app(bootstrap_servers, env, log) as proc:
        # Bytes that are no event: dead-lettered at the decode stage, not dropped.
        produce(bootstrap_servers, code, [(b"junk", b"not an avro event")])
        publish(bootstrap_servers, serde, code, code_events)
        publish(bootstrap_servers, serde, chat, msgs)
        got = read_records(bootstrap_servers, serde, out, until=_alive(proc, log, complete),
                           timeout=timedelta(seconds=150))
        # It announced itself like an agent: `agentstream agents` lists it as live.
        views = [v for v in read_topology(KafkaSettings(bootstrap_servers=bootstrap_servers),
                                          timeout=timedelta(seconds=20))
                 if v.name == env["AGENTSTREAM_ACTIVITY_APP_ID"]]
        assert [list(v.live_instances) for v in views] == [["faust-inst-1"]]
        letters = _dead_letters(bootstrap_servers, env["AGENTSTREAM_ACTIVITY_APP_ID"])
        assert "decode" in letters and "DecodeError" in letters, letters
        assert f"{code}[" in letters, "the undecodable input names its topic"
        assert views[0].emits == {out: ("agentstream.insights.ActivitySummary",)}

    cycle = next(r for r in got if r.entity == f"pr:{REPO}#1")
    assert cycle.counts == {"pickup_seconds": 7200, "review_seconds": 10800,
                            "merge_seconds": 3600, "cycle_seconds": 21600}
    assert set(cycle.based_on) == {pr1.meta.id, first.meta.id, approve.meta.id, merge.meta.id}
    assert cycle.person == "alice" and cycle.team == "payments"
    day = [r for r in got if r.entity == f"repo:{REPO}"][-1]
    assert day.counts == {"PullRequestOpened": 2, "ReviewSubmitted": 2, "PullRequestMerged": 1}
    assert (day.period_start, day.period_end) == (datetime(2026, 11, 23, tzinfo=UTC),
                                                  datetime(2026, 11, 24, tzinfo=UTC))
    assert set(day.based_on) == {e.meta.id for e in code_events}
    hours = {r.period_start.hour: r for r in got if r.entity == "channel:C1"}
    assert hours[10].counts == {"MessagePosted": 2} and hours[12].counts == {"MessagePosted": 1}
    for r in got:
        assert set(r.based_on) <= inputs, f"{r.entity} cites ids not on the input topics"

    # Restarted: the tables come back from their changelogs; the windows published again carry
    # the same ids, and a late message revises its hour under a new id.
    ids_before = {r.meta.id for r in got}
    late = message("C1", "carol", at=T0 + timedelta(hours=3, minutes=30))
    with _app(bootstrap_servers, env, log) as proc:
        publish(bootstrap_servers, serde, chat, [late])

        def revised(rs: list[Any]) -> bool:
            return any(r.entity == "channel:C1" and r.counts.get("MessagePosted") == 2
                       and r.period_start.hour == 12 for r in rs)

        again = read_records(bootstrap_servers, serde, out, until=_alive(proc, log, revised),
                             timeout=timedelta(seconds=150))
    new_ids = {r.meta.id for r in again} - ids_before
    newer = [r for r in again if r.meta.id in new_ids]
    assert [(r.entity, r.period_start.hour) for r in newer] == [("channel:C1", 12)]
    assert late.meta.id in newer[0].based_on
