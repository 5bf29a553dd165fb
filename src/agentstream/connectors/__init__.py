"""Connectors: real GitHub, Slack and calendar activity in, semantic events out.

* ``verify_github`` / ``verify_slack`` check webhook signatures (several secrets for rotation,
  constant-time compares, an injectable clock for Slack's five-minute replay window).
* ``make_raw`` builds the ``RawRecord`` a connector writes to ``ingest.<source>``; its id is
  derived from the source's delivery id, so a redelivery has the same id.
* ``Normalizer`` turns raw records into ``events.code`` / ``events.chat`` / ``events.calendar``
  events with ids derived from the raw id, or a named skip; the normalizer service and
  ``agentstream normalize`` share it. ``github_file`` / ``slack_file`` / ``ics_file`` read files
  into raw records (the importers and ``normalize`` use them).
* ``IdentityMap`` resolves GitHub logins, Slack user ids and calendar e-mails to one person id.
* ``GatewaySettings`` / ``NormalizerSettings``: ``AGENTSTREAM_GATEWAY_*`` /
  ``AGENTSTREAM_NORMALIZER_*``.

See docs/connectors.md.
"""

from __future__ import annotations

from agentstream.connectors._common import Emitted, Normalized
from agentstream.connectors._errors import IdentityMapError, MalformedPayloadError, SignatureError
from agentstream.connectors._files import (
    FileRecords,
    github_file,
    ics_file,
    slack_export_channel_ids,
    slack_file,
)
from agentstream.connectors._gateway import (
    Gateway,
    GatewayStartError,
    run_gateway,
    serve_gateway,
)
from agentstream.connectors._github import (
    FAILED_CONCLUSIONS,
    BuildLedger,
    KeyValue,
    MemoryBuildLedger,
    StoreBuildLedger,
)
from agentstream.connectors._identity import IdentityKind, IdentityMap
from agentstream.connectors._normalize import Normalizer, parse_json
from agentstream.connectors._publish import PublishError, RawPublisher
from agentstream.connectors._raw import (
    EVENT_NAMESPACE,
    RAW_NAMESPACE,
    event_id,
    ingest_topic,
    make_raw,
    raw_id,
)
from agentstream.connectors._settings import GatewaySettings, NormalizerSettings
from agentstream.connectors._signing import (
    SLACK_MAX_SKEW,
    sign_github,
    sign_slack,
    verify_github,
    verify_slack,
)

__all__ = [
    "EVENT_NAMESPACE",
    "FAILED_CONCLUSIONS",
    "RAW_NAMESPACE",
    "SLACK_MAX_SKEW",
    "BuildLedger",
    "Emitted",
    "FileRecords",
    "Gateway",
    "GatewaySettings",
    "GatewayStartError",
    "IdentityKind",
    "IdentityMap",
    "IdentityMapError",
    "KeyValue",
    "MalformedPayloadError",
    "MemoryBuildLedger",
    "Normalized",
    "Normalizer",
    "NormalizerSettings",
    "PublishError",
    "RawPublisher",
    "SignatureError",
    "StoreBuildLedger",
    "event_id",
    "github_file",
    "ics_file",
    "ingest_topic",
    "make_raw",
    "parse_json",
    "raw_id",
    "run_gateway",
    "serve_gateway",
    "sign_github",
    "sign_slack",
    "slack_export_channel_ids",
    "slack_file",
    "verify_github",
    "verify_slack",
]
