"""The demo's processes: every service as its own child process, with its own settings.

Each child gets only the ``AGENTSTREAM_*`` variables of its own service (every process rejects
variables no setting of its own reads), logs to ``<state>/logs/<name>.log`` and serves its ops
endpoints (``/metrics``, ``/healthz``, ``/readyz``, ``/memory``) on its own port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ROOT", "Service", "Services"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Service:
    name: str  # the agent name `agentstream agents` shows (or the process name)
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ops_port: int | None = None
    http: str | None = None  # another endpoint it serves (gateway, search)
    agent: bool = True
    proc: subprocess.Popen[bytes] | None = None


class Services:
    """Start, watch and stop the demo's children (SIGTERM, then SIGKILL after a grace)."""

    def __init__(self, *, bootstrap: str, logs: Path) -> None:
        self.bootstrap = bootstrap
        self.logs = logs
        self.all: list[Service] = []
        logs.mkdir(parents=True, exist_ok=True)

    def _env(self, svc: Service) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")}
        base.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        for k in ("AGENTSTREAM_HOME", "AGENTSTREAM_CACHE_DIR"):
            if k in os.environ:
                base[k] = os.environ[k]
        env = {**base, "AGENTSTREAM_BOOTSTRAP_SERVERS": self.bootstrap,
               "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "PYTHONUNBUFFERED": "1"}  # fmt: skip
        if svc.agent:
            env["AGENTSTREAM_AGENT_OPS_PORT"] = str(svc.ops_port) if svc.ops_port else "-1"
            env["AGENTSTREAM_AGENT_OPS_HOST"] = "127.0.0.1"
        return {**env, **svc.env}

    def start(self, svc: Service) -> Service:
        log = open(self.logs / f"{svc.name}.log", "ab")  # noqa: SIM115 - owned by the child
        svc.proc = subprocess.Popen(svc.argv, cwd=ROOT, env=self._env(svc), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.all.append(svc)
        return svc

    def dead(self) -> list[str]:
        return [f"{s.name} (exit {s.proc.returncode}, see {self.logs / (s.name + '.log')})"
                for s in self.all if s.proc is not None and s.proc.poll() is not None]  # fmt: skip

    def stop(self, *, grace: float = 30.0) -> list[str]:
        """SIGTERM every child, wait up to ``grace`` s in all, SIGKILL what is left."""
        for s in reversed(self.all):
            if s.proc is not None and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        report = []
        for s in reversed(self.all):
            if s.proc is None:
                continue
            try:
                s.proc.wait(max(0.1, deadline - time.monotonic()))
                report.append(f"{s.name}: stopped (exit {s.proc.returncode})")
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait(10)
                report.append(f"{s.name}: killed after {grace:.0f} s")
        return report


def py(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def agentstream(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentstream.cli", *args]
