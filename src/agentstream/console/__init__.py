"""The AgentStream console: the operators' view and the managers' team pages, in a browser.

``agentstream console`` serves server-rendered pages (Starlette + uvicorn) that read only Kafka
and the agents' ops endpoints:

- **Topology** (``/``): every agent announced on ``_agentstream.agents`` with its version, live and
  stale instances, what it consumes and emits, rates, lag and dead letters (from ``/metrics``).
- **Agent** (``/agents/<name>``): metrics per topic and type, lag per partition, dead letters with
  reason and stage, and a Replay button (a CSRF-protected POST; see ``agentstream.ops.dlq``).
- **Tail** (``/topics/<topic>/tail``): decoded records as they arrive (server-sent events).
- **Teams** (``/teams/<team>``): today's briefing, open risks and activity summaries, each citing
  its evidence; ``/events/<id>`` shows a cited event.

Bound to 127.0.0.1 by default; bound elsewhere it refuses to start without
``AGENTSTREAM_CONSOLE_TOKEN`` and then refuses every request that does not carry it.
"""

from __future__ import annotations

from agentstream.console._app import create_app, serve
from agentstream.console._index import EventIndex, IndexedEvent
from agentstream.console._settings import ConsoleAccessError, ConsoleSettings, is_loopback

__all__ = [
    "ConsoleAccessError",
    "ConsoleSettings",
    "EventIndex",
    "IndexedEvent",
    "create_app",
    "is_loopback",
    "serve",
]
