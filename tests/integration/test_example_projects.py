"""The example projects under examples/ pass their own test suites, on this run's broker.

Each example is a project of its own (pyproject, schemas, generated package, tests) that uses
AgentStream as a dependency; its tests run with this virtualenv's Python from the example's
directory, so they see the example's pytest configuration, not the repository's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("project", ["deploy-watcher"])
def test_example_project_passes_its_own_tests(project: str, bootstrap_servers: str) -> None:
    cwd = EXAMPLES / project
    assert (cwd / "pyproject.toml").is_file(), f"{cwd} is not a project"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTSTREAM_", "PYTEST_"))}
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap_servers  # the broker this session already uses
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    report = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, f"{project}'s tests failed:\n{report}"
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "error" not in summary, report
