"""Insights as plain JSON lines and as Slack incoming-webhook messages."""

from __future__ import annotations

from typing import Any

from agentstream.events import ActivitySummary, BriefingReady, RiskDetected

__all__ = ["SEVERITY_ORDER", "Insight", "as_json", "as_slack", "as_text"]

Insight = RiskDetected | ActivitySummary | BriefingReady
SEVERITY_ORDER = ("low", "medium", "high", "critical")
_EMOJI = {"low": ":information_source:", "medium": ":warning:", "high": ":rotating_light:",
          "critical": ":fire:"}


def _when(t: Any) -> str:
    return t.isoformat() if hasattr(t, "isoformat") else str(t)


def as_json(i: Insight) -> dict[str, Any]:
    """One JSON object per insight (the jsonl sink's line)."""
    base: dict[str, Any] = {
        "id": i.meta.id, "type": type(i).__name__, "subject": i.meta.subject,
        "source": i.meta.source, "time": _when(i.meta.time), "based_on": list(i.based_on),
    }
    if isinstance(i, RiskDetected):
        base.update(kind=i.kind, severity=str(i.severity), title=i.title, summary=i.summary,
                    recommendation=i.recommendation, team=i.team, person=i.person,
                    entities=list(i.entities))
    elif isinstance(i, ActivitySummary):
        base.update(entity=i.entity, period_start=_when(i.period_start),
                    period_end=_when(i.period_end), counts=dict(i.counts), summary=i.summary,
                    team=i.team, person=i.person)
    else:
        base.update(audience=i.audience, title=i.title, body=i.body,
                    highlights=list(i.highlights))
    return base


def as_text(i: Insight) -> str:
    """A few lines for the console."""
    cites = ", ".join(i.based_on) or "nothing"
    if isinstance(i, RiskDetected):
        head = f"RISK [{i.severity}] {i.kind}: {i.title}"
        body = i.summary + (f"\n  -> {i.recommendation}" if i.recommendation else "")
    elif isinstance(i, ActivitySummary):
        head = f"ACTIVITY {i.entity} {_when(i.period_start)}..{_when(i.period_end)}"
        body = i.summary
    else:
        head = f"BRIEFING for {i.audience}: {i.title}"
        body = i.body
    return f"{head}\n  {body}\n  based on {cites}"


def as_slack(i: Insight) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` (fallback) and Block Kit ``blocks``."""
    if isinstance(i, RiskDetected):
        sev = str(i.severity)
        title = f"{_EMOJI.get(sev, '')} *{i.title}*  `{i.kind}` ({sev})"
        body = i.summary + (f"\n*Suggested:* {i.recommendation}" if i.recommendation else "")
    elif isinstance(i, ActivitySummary):
        title = f":bar_chart: *Activity of {i.entity}*"
        body = i.summary
    else:
        title = f":newspaper: *{i.title}*"
        body = i.body
    cites = ", ".join(f"`{e}`" for e in i.based_on[:10])
    more = f" (+{len(i.based_on) - 10} more)" if len(i.based_on) > 10 else ""
    return {
        "text": f"{title}\n{body}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"Evidence: {cites}{more} · insight `{i.meta.id}`"}
            ]},
        ],
    }
