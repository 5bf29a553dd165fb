"""activity: an event it cannot process is written to dlq.<app id> as the runtime's DeadLetter,
readable by `agentstream dlq list`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from agentstream.cli import app as cli
from agentstream.testing import unique_name

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = """
import asyncio
from types import SimpleNamespace
from datetime import UTC, datetime
from confluent_kafka.admin import AdminClient
from agentstream.bus import ensure_topic
import services.activity.app as a
from svc.events import message

ensure_topic(AdminClient(a.KAFKA.client_config()), a.DLQ, partitions=1)
ev = SimpleNamespace(
    value=message("C1", "u", at=datetime.now(UTC)),
    message=SimpleNamespace(topic="events.chat", partition=2, offset=7, key=b"C1",
                            value=b"raw", headers=[("h", b"v")]),
)
asyncio.run(a._dead_letter(ev, ValueError("window state is broken")))
"""


def test_unprocessable_event_is_dead_lettered_with_its_reason(bootstrap_servers: str) -> None:
    app_id = unique_name("activity-dlq")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env |= {"AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers,
            "AGENTSTREAM_ACTIVITY_APP_ID": app_id,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "integration")])}
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = CliRunner().invoke(cli, ["dlq", "list", app_id],
                                env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers})
    assert result.exit_code == 0, result.output
    assert "ValueError" in result.output and "window state is broken" in result.output
    assert "events.chat[2]@7" in result.output and "MessagePosted" in result.output
