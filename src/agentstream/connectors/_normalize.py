"""``Normalizer``: one raw record in, its semantic events (or a named skip) out.

The normalizer service and ``agentstream normalize`` both call ``Normalizer.normalize``; ids
derive from the raw record's id, so the same delivery always yields the same event ids.

Bodies are read strictly first; only when that fails does the normalizer path retry leniently
(``parse_json(..., lenient=True)``): JSON5 syntax, which covers the quirks of hand-edited examples
such as Slack's published documentation payloads (trailing commas, comments, single quotes) and a
UTF-8 byte order mark. The webhook gateway stays strict: GitHub and Slack send valid JSON, so a
body that is not is answered 400 rather than guessed at.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import json5
import orjson

from agentstream.connectors._common import Normalized, Out
from agentstream.connectors._errors import MalformedPayloadError
from agentstream.connectors._github import BuildLedger, MemoryBuildLedger, normalize_github
from agentstream.connectors._ics import normalize_calendar
from agentstream.connectors._identity import IdentityMap
from agentstream.connectors._settings import NormalizerSettings
from agentstream.connectors._slack import normalize_slack_event, normalize_slack_export_channel
from agentstream.events import RawRecord

__all__ = ["Normalizer", "parse_json"]


def parse_json(body: bytes, *, what: str, lenient: bool = False) -> Any:
    """``body`` as JSON, or ``MalformedPayloadError`` saying where it breaks.

    ``lenient``: if strict parsing fails, retry as JSON5 (trailing commas, comments, single
    quotes, a byte order mark); if that fails too, the error is the strict parser's."""
    try:
        return orjson.loads(body)
    except UnicodeDecodeError as exc:
        raise MalformedPayloadError(
            f"{what} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from None
    except json.JSONDecodeError as exc:
        if lenient:
            tolerated = _parse_json5(body)
            if tolerated is not _FAILED:
                return tolerated
        raise MalformedPayloadError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


_FAILED = object()


def _parse_json5(body: bytes) -> Any:
    """``body`` as JSON5 (only objects and lists: a payload is never a bare scalar), or
    ``_FAILED``."""
    try:
        doc = json5.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return _FAILED
    return doc if isinstance(doc, dict | list) else _FAILED


class Normalizer:
    """Turns ``RawRecord``s into semantic events.

    ``identity`` resolves source handles to person ids (default: the map named by
    ``settings.identity_map``, else none). ``ledger`` remembers failed builds so a later success
    is reported as ``BuildRecovered`` (default: in memory). Raises ``MalformedPayloadError`` for a
    record it cannot read (the service dead-letters it).
    """

    def __init__(
        self,
        *,
        settings: NormalizerSettings | None = None,
        identity: IdentityMap | None = None,
        ledger: BuildLedger | None = None,
        topic_prefix: str = "",
    ) -> None:
        self.settings = settings or NormalizerSettings()
        if identity is None:
            path = self.settings.identity_map
            identity = IdentityMap.load(path) if path is not None else IdentityMap()
        self.identity = identity
        self.ledger = ledger if ledger is not None else MemoryBuildLedger()
        self.topic_prefix = topic_prefix

    def window(self, received_at: datetime) -> tuple[datetime, datetime]:
        """The calendar expansion window of a record received at ``received_at``."""
        r = received_at.astimezone(UTC)
        day = datetime(r.year, r.month, r.day, tzinfo=UTC)
        return day - self.settings.calendar_past, day + self.settings.calendar_future

    def normalize(self, raw: RawRecord, *, ledger: BuildLedger | None = None) -> Normalized:
        """The events ``raw`` means, or why it means none. ``ledger`` overrides the normalizer's
        own for this record (the service passes one over its memory store)."""
        rid = raw.id or f"offsetless-{raw.source}-{raw.delivery_id or ''}"
        out = Out(rid, raw.source, raw.received_at, self.identity, self.topic_prefix)
        if raw.source == "github":
            payload = parse_json(raw.body, what=f"GitHub {raw.kind} body", lenient=True)
            builds = ledger if ledger is not None else self.ledger
            return out.result(normalize_github(out, raw.kind, payload, builds))
        if raw.source == "slack":
            payload = parse_json(raw.body, what=f"Slack {raw.kind} body", lenient=True)
            if raw.kind == "export_channel":
                return out.result(normalize_slack_export_channel(out, payload))
            hint = raw.headers.get("channel")
            export = raw.kind == "export_message"
            return out.result(normalize_slack_event(out, payload, channel_hint=hint, export=export))
        if raw.source in ("ics", "calendar"):
            return out.result(
                normalize_calendar(out, raw.body, window=self.window(raw.received_at))
            )
        return Normalized(skipped=f"unknown source {raw.source!r}")
