"""notifier: insights in, a console line, a JSONL record or a Slack webhook message out.

Idempotent on the insight id: a memory store ``sent`` remembers every insight delivered (it
commits with the input), so a redelivered or replayed insight — or a second demo run that
re-derives the same deterministic ids — is not delivered again. The JSONL sink also skips ids
already in its file, which covers a crash between writing a line and committing the input. A
webhook delivery interrupted by a crash in that same window may be repeated (the receiver sees
the insight id in the message). In a shadow run (``agentstream.shadow.active()``) nothing is
delivered anywhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import Counter

from agentstream import shadow
from agentstream.events import ActivitySummary, BriefingReady, RiskDetected
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context, NonRetryableError, RetryPolicy
from services.notifier.render import SEVERITY_ORDER, Insight, as_json, as_slack, as_text
from services.notifier.settings import NotifierSettings

__all__ = ["agent", "settings"]

settings = NotifierSettings()

DELIVERIES = Counter(
    "agentstream_notifier_deliveries_total",
    "Insights handed to a sink, by outcome (delivered, duplicate, filtered, failed).",
    ["sink", "outcome"],
)

agent = Agent(
    settings.agent_name,
    version="0.1.0",
    stores=[StoreSpec("sent")],
    description="Delivers insights to the console, a JSONL file or a Slack incoming webhook, "
    "once per insight id.",
)
_RETRY = RetryPolicy(maximum_attempts=5, non_retryable_error_types=[NonRetryableError])


class _JsonlSink:
    """Appends one line per insight; ids already in the file are skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: set[str] | None = None

    def _known(self) -> set[str]:
        if self._ids is None:
            self._ids = set()
            if self.path.exists():
                for line in self.path.read_text().splitlines():
                    try:
                        self._ids.add(json.loads(line)["id"])
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line from a crash: rewritten below
        return self._ids

    def write(self, record: dict[str, Any]) -> bool:
        known = self._known()
        if record["id"] in known:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(record, sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        known.add(record["id"])
        return True


_jsonl = _JsonlSink(settings.jsonl_path) if settings.jsonl_path is not None else None
_clients: list[httpx.AsyncClient] = []  # one per process, made on first use


async def _post(payload: dict[str, Any]) -> None:
    assert settings.webhook_url is not None
    if not _clients:
        _clients.append(httpx.AsyncClient(timeout=settings.webhook_timeout.total_seconds()))
    resp = await _clients[0].post(settings.webhook_url, json=payload)
    if resp.status_code >= 400:
        DELIVERIES.labels("webhook", "failed").inc()
        msg = f"webhook answered {resp.status_code}: {resp.text[:200]}"
        if resp.status_code < 500 and resp.status_code != 429:
            raise NonRetryableError(msg + " (fix the URL or the payload; not retried)")
        raise RuntimeError(msg)


async def _deliver(insight: Insight, ctx: Context) -> None:
    sent = ctx.store("sent")
    if sent.get(insight.meta.id) is not None:
        DELIVERIES.labels("all", "duplicate").inc()
        return
    if shadow.active():
        # A shadow run (agentstream shadow) posts nothing, writes no file and prints nothing:
        # it is evaluated on its Kafka outputs only.
        ctx.log.info("shadow run: not delivering %s %s", type(insight).__name__, insight.meta.id)
        DELIVERIES.labels("all", "shadow").inc()
        sent.put(insight.meta.id, {"type": type(insight).__name__, "subject": insight.meta.subject})
        return
    if "console" in settings.sinks:
        sys.stdout.write(as_text(insight) + "\n")
        sys.stdout.flush()
        DELIVERIES.labels("console", "delivered").inc()
    if "jsonl" in settings.sinks and _jsonl is not None:
        fresh = _jsonl.write(as_json(insight))
        DELIVERIES.labels("jsonl", "delivered" if fresh else "duplicate").inc()
    if "webhook" in settings.sinks:
        await _post(as_slack(insight))
        DELIVERIES.labels("webhook", "delivered").inc()
    sent.put(insight.meta.id, {"type": type(insight).__name__, "subject": insight.meta.subject})


@agent.handler(RiskDetected, topic=settings.risks_topic, retry=_RETRY)
async def on_risk(event: RiskDetected, ctx: Context) -> None:
    if SEVERITY_ORDER.index(str(event.severity)) < SEVERITY_ORDER.index(settings.min_severity):
        DELIVERIES.labels("all", "filtered").inc()
        return
    await _deliver(event, ctx)


@agent.handler(BriefingReady, topic=settings.briefings_topic, retry=_RETRY)
async def on_briefing(event: BriefingReady, ctx: Context) -> None:
    await _deliver(event, ctx)


if settings.activity:

    @agent.handler(ActivitySummary, topic=settings.activity_topic, retry=_RETRY)
    async def on_activity(event: ActivitySummary, ctx: Context) -> None:
        await _deliver(event, ctx)
