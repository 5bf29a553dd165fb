"""``agentstream run deploywatch.agent:agent`` as its own process, configured by environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import (
    WaitTimeoutError,
    consume_until,
    consumer,
    produce,
    unique_name,
)

from deploywatch.events import DeployFlagged, DeployOutcome, FlagKind
from support import PROJECT, finished


def test_the_documented_command_runs_the_watcher(
    bootstrap_servers: str, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=2)
    name = unique_name("deploy-watcher")
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    failures = [finished("search", "prod", f"v{i}", DeployOutcome.FAILED) for i in (1, 2)]
    produce(bootstrap_servers, src, [(e.meta.subject, serde.encode(src, e)) for e in failures])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGENTSTREAM_", "DEPLOYWATCH_", "KAFKA_"))}
    env |= {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers,
        "AGENTSTREAM_AGENT_OPS_PORT": "-1",
        "DEPLOYWATCH_NAME": name,
        "DEPLOYWATCH_INPUT_TOPIC": src,
        "DEPLOYWATCH_OUTPUT_TOPIC": out,
        "PYTHONPATH": str(PROJECT / "src"),
    }
    log = tmp_path / "agent.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentstream.cli", "run", "deploywatch.agent:agent"],
            cwd=PROJECT, env=env, stdout=sink, stderr=sink,
        )
    try:
        with consumer(bootstrap_servers) as c:
            c.subscribe([out])
            try:
                [msg] = consume_until(c, count=1, timeout=timedelta(seconds=90))
            except WaitTimeoutError as exc:
                tail = log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"no flag; exit code {proc.poll()}; log:\n{tail}") from exc
        flag = serde.decode(out, msg.value())
        assert isinstance(flag, DeployFlagged), flag
        assert flag.kind is FlagKind.REPEATED_FAILURE
        assert flag.based_on == tuple(e.meta.id for e in failures)
        assert flag.meta.source == f"agent.{name}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, log.read_text(errors="replace")[-3000:]
