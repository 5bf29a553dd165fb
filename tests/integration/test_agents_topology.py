"""Published interfaces of running agent processes: `agentstream agents` draws the topology."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.integration.agents.harness import ROOT, spawn_agent, wait_for

from agentstream.testing import unique_name

TARGET = "tests.integration.agents.echo:agent"
FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})
PR = "agentstream.events.code.PullRequestOpened"
RISK = "agentstream.insights.RiskDetected"


def _topology(bootstrap: str, prefix: str) -> dict[str, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTSTREAM_", "KAFKA_"))}
    env |= {"AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap, "AGENTSTREAM_TOPIC_PREFIX": prefix}
    out = subprocess.run(
        [sys.executable, "-m", "agentstream.cli", "agents", "--json", "--timeout", "20"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    views = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return {v["name"]: v for v in views}


def test_agents_lists_running_agents_and_forgets_a_stopped_one(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    prefix = unique_name("topo") + "."  # isolates this test's agents topic
    agents = {
        unique_name("risk"): (topic_factory(partitions=2), "insights.risks"),
        unique_name("brief"): (topic_factory(partitions=1), "insights.briefings"),
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, (src, out) in agents.items():
        procs[name] = spawn_agent(TARGET, bootstrap_servers, {
            "ECHO_AGENT": name, "ECHO_IN": src, "ECHO_OUT": out,
            "AGENTSTREAM_TOPIC_PREFIX": prefix, "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
            "AGENT_STDERR": str(tmp_path / f"{name}.stderr"),
        })
    seen: dict[str, dict[str, Any]] = {}

    def both_live() -> bool:
        seen.update(_topology(bootstrap_servers, prefix))
        return all(len(seen.get(n, {}).get("live_instances", [])) == 1 for n in agents)

    try:
        wait_for(both_live, timeout=timedelta(seconds=90), what="both agents live", poll=1)
        for name, (src, out) in agents.items():
            view = seen[name]
            assert view["version"] == "1.0.0"
            assert view["consumes"] == {src: [PR]}
            assert view["emits"] == {out: [RISK]}
            assert view["stale_instances"] == []
        stopped, kept = list(agents)
        procs[stopped].send_signal(signal.SIGTERM)
        assert procs[stopped].wait(60) == 0, (tmp_path / f"{stopped}.stderr").read_text()[-2000:]
        after = _topology(bootstrap_servers, prefix)
        assert stopped not in after, "a cleanly stopped instance withdraws its descriptor"
        assert len(after[kept]["live_instances"]) == 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
