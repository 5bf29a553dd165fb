"""`make demo` does real work: GitHub activity in, risks out, through an agent process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_pipeline_end_to_end(bootstrap_servers: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "services.demo.run"],
        cwd=ROOT,
        env={**os.environ, "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "expecting 5 risks" in out
    assert out.count("RISK [") == 5
    assert "RISK [high] build-failing" in out  # the failure on main
    assert out.count("large-pull-request") == 2
    assert "demo finished: 13 events in, 5 risks out" in out
    # The agent announced its interface: what it reads and where it writes.
    assert "pr-risk 0.2.0: consumes {'events.code'" in out
    assert "emits {'insights.risks': ('agentstream.insights.RiskDetected',)}" in out
