"""`agentstream dev up | status | down` as a user types them, on a broker of their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from agentstream.localkafka import free_port


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentstream.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def _free_pair() -> int:
    """A free port N whose N+1 (the controller's, for ``--port N``) is free too."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports found")


def test_dev_up_status_down(tmp_path: Path) -> None:
    home = tmp_path / "devbroker"
    port = str(_free_pair())
    up = _cli("dev", "up", "--port", port, home=home)
    try:
        assert up.returncode == 0, up.stderr
        assert "started" in up.stdout and f"127.0.0.1:{port}" in up.stdout

        again = _cli("dev", "up", "--port", port, home=home)
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stdout

        st = _cli("dev", "status", home=home)
        assert st.returncode == 0 and "running" in st.stdout and "4." in st.stdout

        logs = _cli("dev", "logs", "-n", "200", home=home)
        assert "Kafka Server started" in logs.stdout
    finally:
        down = _cli("dev", "down", home=home)
    assert down.returncode == 0 and "stopped" in down.stdout
    after = _cli("dev", "status", home=home)
    assert after.returncode == 3 and "not running" in after.stdout
    assert (home / "data" / "meta.properties").exists()  # data kept for the next `up`
