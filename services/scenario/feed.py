"""Sign the scenario's deliveries and post them to the ingestion gateway over HTTP.

GitHub deliveries go to ``POST {gateway}/webhooks/github`` with ``X-Hub-Signature-256``; Slack
ones to ``POST {gateway}/webhooks/slack`` with ``X-Slack-Signature`` over
``v0:{now}:{body}`` (the request timestamp is the send time, as Slack's is). A delivery is
counted as fed only on a 2xx, which the gateway sends after Kafka acknowledged it; 503 is retried
after its ``Retry-After``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import register_settings
from agentstream.errors import AgentStreamError
from services.scenario.payloads import Delivery, sign_github, sign_slack
from services.scenario.team import identity_map, identity_toml
from services.scenario.week import Week

__all__ = ["FeedError", "FeedReport", "ScenarioSettings", "feed", "write_files"]


class FeedError(AgentStreamError):
    """The gateway refused a delivery or could not be reached; the message names which."""


@register_settings
class ScenarioSettings(BaseSettings):
    """Where the scenario is posted and with which secrets (env ``AGENTSTREAM_SCENARIO_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_SCENARIO_", extra="forbid", frozen=True
    )

    gateway_url: str = Field(default="http://127.0.0.1:8088", description="Gateway base URL.")
    github_secret: str = Field(default="scenario-github-secret", description="GitHub secret.")
    slack_signing_secret: str = Field(
        default="scenario-slack-secret", description="Slack signing secret."
    )
    seed: int = Field(default=1, description="Scenario seed (same seed = same delivery ids).")


@dataclass
class FeedReport:
    accepted: int = 0
    ignored: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    ignored_reasons: list[str] = field(default_factory=list)


def _signed(d: Delivery, settings: ScenarioSettings) -> dict[str, str]:
    headers = dict(d.headers)
    if d.source == "github":
        headers.update(sign_github(d.body, settings.github_secret))
    else:
        headers.update(sign_slack(d.body, settings.slack_signing_secret, int(time.time())))
    return headers


def feed(
    deliveries: Iterable[Delivery],
    settings: ScenarioSettings,
    *,
    timeout: float = 10.0,
    attempts: int = 5,
    progress: Callable[[int, Delivery, int], None] | None = None,
) -> FeedReport:
    """Post every delivery, in order; a non-2xx answer other than 503 raises ``FeedError``."""
    report = FeedReport()
    base = settings.gateway_url.rstrip("/")
    with httpx.Client(timeout=timeout) as client:
        for n, d in enumerate(deliveries, start=1):
            status = _post_one(client, f"{base}/webhooks/{d.source}", d, settings, attempts)
            report.statuses[status.status_code] = report.statuses.get(status.status_code, 0) + 1
            if status.status_code == 202 and status.text.startswith("ignored"):
                report.ignored += 1
                report.ignored_reasons.append(f"{d.source}:{d.event}: {status.text}")
            else:
                report.accepted += 1
            if progress is not None:
                progress(n, d, status.status_code)
    return report


def _post_one(
    client: httpx.Client, url: str, d: Delivery, settings: ScenarioSettings, attempts: int
) -> httpx.Response:
    last = ""
    for _ in range(attempts):
        try:
            r = client.post(url, content=d.body, headers=_signed(d, settings))
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(1.0)
            continue
        if r.status_code == 503:
            last = f"503 {r.text[:200]}"
            time.sleep(min(float(r.headers.get("Retry-After", "1") or 1), 5.0))
            continue
        if not 200 <= r.status_code < 300:
            raise FeedError(
                f"gateway answered {r.status_code} to {d.source} {d.event} delivery "
                f"{d.delivery_id} ({d.summary}): {r.text[:300]}"
            )
        return r
    raise FeedError(f"gateway at {url} did not accept delivery {d.delivery_id}: {last}")


def write_files(week: Week, folder: Path) -> list[Path]:
    """Write the week as files: one JSON per delivery (with its headers), the ICS, the identities.

    The layout is what the connectors' importers read: ``github/<event>/<delivery>.json`` (the
    exact body), ``slack/<event id>.json`` (the Events API envelope), ``calendar.ics`` and
    ``identities.json`` (person id -> handle per source) and ``identities.toml`` (the same in
    the connectors' identity-map format).
    """
    written: list[Path] = []
    for d in week.deliveries:
        if d.source == "github":
            path = folder / "github" / d.event / f"{d.delivery_id}.json"
        else:
            path = folder / "slack" / f"{d.delivery_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(d.body)
        written.append(path)
    ics = folder / "calendar.ics"
    ics.write_text(week.calendar_ics, newline="")
    ids = folder / "identities.json"
    ids.write_text(json.dumps(identity_map(), indent=2) + "\n")
    toml = folder / "identities.toml"
    toml.write_text(identity_toml())
    return [*written, ics, ids, toml]
