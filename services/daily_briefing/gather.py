"""Gather a briefing's evidence: insights from their topics, activity from retrieval, profiles.

Every item keeps the id of the event it comes from; the briefing cites those ids and nothing
else. Items are plain JSON so the workflow can checkpoint them.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from agentstream.bus import watermarks
from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from services.daily_briefing.settings import BriefingSettings

__all__ = ["gather", "read_topic"]

log = logging.getLogger("services.daily_briefing")
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def read_topic(kafka: KafkaSettings, topic: str, *, timeout: float = 30.0) -> list[Any]:
    """Every decodable record of ``topic`` from the beginning to the end seen at the start."""
    serde = make_serde(kafka)
    c = Consumer(
        kafka.client_config(
            **{
                "group.id": "daily-briefing-reader",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
    )
    out: list[Any] = []
    try:
        md = c.list_topics(topic, timeout=10)
        parts = sorted(md.topics[topic].partitions) if topic in md.topics else []
        ends: dict[int, int] = {}
        for p in parts:
            low, high = watermarks(c, TopicPartition(topic, p), timeout=timedelta(seconds=30))
            if high > low:
                ends[p] = high
        if not ends:
            return out
        c.assign([TopicPartition(topic, p, 0) for p in ends])
        seen: dict[int, int] = {}
        deadline = time.monotonic() + timeout
        while any(seen.get(p, -1) < ends[p] - 1 for p in ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} to its end took over {timeout}s")
            msg = c.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            seen[msg.partition()] = msg.offset()
            if msg.value() is None:
                continue
            try:
                out.append(
                    serde.decode(topic, msg.value(), partition=msg.partition(), offset=msg.offset())
                )
            except Exception as exc:
                log.warning("skipping undecodable record %s@%d: %s", topic, msg.offset(), exc)
    finally:
        c.close()
    return out


def _ms(t: Any) -> int:
    return int(t.timestamp() * 1000) if isinstance(t, datetime) else int(t)


def _risks(records: list[Any], start: int, end: int) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], Any] = {}
    for r in records:
        if (
            getattr(r.meta, "type", "").endswith("RiskDetected")
            and start <= _ms(r.meta.time) <= end
        ):
            latest[(r.meta.subject, r.kind)] = r  # the latest view of a risk per subject
    items = []
    for r in latest.values():
        sev = str(getattr(r.severity, "value", r.severity))
        items.append(
            {
                "id": str(r.meta.id),
                "kind": f"risk:{r.kind}",
                "severity": sev,
                "text": f"{r.title}. {r.summary}",
                "time": _ms(r.meta.time),
                "evidence": [str(x) for x in r.based_on],
            }
        )
    items.sort(key=lambda i: (_SEVERITY.get(i["severity"], 9), -i["time"]))
    return items


def _activity(records: list[Any], start: int, end: int) -> list[dict[str, Any]]:
    items = []
    for r in records:
        if (
            getattr(r.meta, "type", "").endswith("ActivitySummary")
            and start <= _ms(r.meta.time) <= end
        ):
            items.append(
                {
                    "id": str(r.meta.id),
                    "kind": "activity",
                    "text": r.summary,
                    "entity": r.entity,
                    "time": _ms(r.meta.time),
                    "evidence": [str(x) for x in r.based_on],
                }
            )
    items.sort(key=lambda i: -i["time"])
    return items


def _search(url: str, q: str, **filters: str | int) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"q": q, **filters}, doseq=True)
    with urllib.request.urlopen(f"{url.rstrip('/')}/search?{query}", timeout=10) as r:
        hits: list[dict[str, Any]] = json.loads(r.read())["hits"]
    return hits


def _retrieved(settings: BriefingSettings, start: int, end: int) -> list[dict[str, Any]]:
    if not settings.indexer_url:
        return []
    out: list[dict[str, Any]] = []
    for q, types in (
        ("pull request merged", ["PullRequestMerged"]),
        ("review approved looks good", ["ReviewSubmitted"]),
        ("great work thanks unblock", ["MessagePosted"]),
    ):
        try:
            hits = _search(
                settings.indexer_url,
                q,
                type=types,
                since=start,
                until=end,
                limit=settings.max_items,
            )
        except OSError as exc:
            log.warning("indexer search failed (%s); briefing goes on without it", exc)
            return out
        out.extend(
            {"id": h["event_id"], "kind": h["type"], "text": h["text"], "time": h.get("time", 0)}
            for h in hits
        )
    return out


def gather(
    settings: BriefingSettings, kafka: KafkaSettings, *, team: str, start: int, end: int
) -> dict[str, Any]:
    """The evidence of one team's briefing over ``[start, end]`` (epoch ms)."""
    risks = _risks(read_topic(kafka, settings.risks_topic), start, end)
    activity = _activity(read_topic(kafka, settings.activity_topic), start, end)
    went_well = _retrieved(settings, start, end)
    n = settings.max_items
    return {
        "team": team,
        "start": start,
        "end": end,
        "risks": risks[:n],
        "activity": activity[:n],
        "went_well": went_well[: 2 * n],
    }
