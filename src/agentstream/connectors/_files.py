"""Files → ``RawRecord``s, the one path shared by ``agentstream normalize`` and the importers.

* GitHub: a webhook payload (``.json``; the event name is given, or taken from the folder name
  as in ``pull_request/opened.json``), or a recorded delivery (``{"headers": {...},
  "body_raw_base64": ...}``, as webhook relays such as smee.io store them), whose own
  ``X-GitHub-Event`` / ``X-GitHub-Delivery`` are used.
* Slack: an Events API body, a single message object, or a workspace export: day files
  (``<channel>/<YYYY-MM-DD>.json``, a list of messages; one record per message, keyed by channel
  and ts) and ``channels.json`` (one record per channel: its creation). The export's other
  metadata files (users, dms, groups, mpims) carry no events.
* iCalendar: one record per file, id from the file's digest.

Payloads are parsed strictly, then leniently (see ``parse_json``). Files that are recognisably
not payloads are a named skip ``not-a-payload: ...`` rather than an error: documentation
(Markdown, reStructuredText), JSON Lines files (such as lists of signature test vectors), an index
of files (a JSON object keyed by file names), JSON Schema documents, and JSON given as iCalendar.
A file that is a payload but cannot be read is still a ``MalformedPayloadError``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agentstream.connectors._errors import MalformedPayloadError
from agentstream.connectors._normalize import parse_json
from agentstream.connectors._raw import make_raw
from agentstream.events import RawRecord

__all__ = ["FileRecords", "github_file", "ics_file", "slack_export_channel_ids", "slack_file"]

_EXPORT_METADATA = {
    "users.json",
    "dms.json",
    "groups.json",
    "mpims.json",
    "ref-channels.json",
    "integration_logs.json",
    "canvases.json",
    "org_users.json",
}


_DOC_SUFFIXES = {".md": "Markdown", ".markdown": "Markdown", ".rst": "reStructuredText"}
_JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
_SIGNATURE_KEYS = {"x_hub_signature_256", "x_hub_signature", "x_slack_signature", "signature"}
_FILE_NAME = re.compile(r"[^\s/\\]+\.[A-Za-z0-9]{1,8}")


@dataclass
class FileRecords:
    """The raw records of one file, or why it has none."""

    path: Path
    records: list[RawRecord] = field(default_factory=list)
    skipped: str | None = None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MalformedPayloadError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _not_a_payload_by_name(path: Path, data: bytes) -> str | None:
    """Why ``path`` is recognisably not a payload from its name (and, for JSON Lines, what its
    lines hold), or ``None``."""
    suffix = path.suffix.lower()
    if suffix in _DOC_SUFFIXES:
        return f"not-a-payload: documentation ({_DOC_SUFFIXES[suffix]})"
    if suffix in _JSON_LINES_SUFFIXES:
        lines = [line for line in data.splitlines() if line.strip()]
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except ValueError:
                return f"not-a-payload: a JSON Lines file ({len(lines)} lines)"
        if rows and all(isinstance(r, dict) and _SIGNATURE_KEYS & r.keys() for r in rows):
            return f"not-a-payload: signature test vectors (JSON Lines, {len(rows)} records)"
        return f"not-a-payload: a JSON Lines file ({len(rows)} records), not a single payload"
    return None


def _not_a_payload_by_content(doc: Any) -> str | None:
    """Why the parsed document ``doc`` is recognisably not a payload, or ``None``."""
    if isinstance(doc, dict) and doc.get("$schema"):
        return "not-a-payload: a JSON Schema document"
    if (
        isinstance(doc, dict)
        and doc
        and all(_FILE_NAME.fullmatch(str(k)) for k in doc)
        and all(isinstance(v, dict) for v in doc.values())
    ):
        return f"not-a-payload: an index of {len(doc)} files (keys are file names)"
    return None


def _payload(path: Path, data: bytes) -> tuple[Any, str | None]:
    """``data`` parsed (leniently), or why it is not a payload."""
    why = _not_a_payload_by_name(path, data)
    if why:
        return None, why
    doc = parse_json(data, what=str(path), lenient=True)
    return doc, _not_a_payload_by_content(doc)


def github_file(
    path: Path, *, event: str | None = None, received_at: datetime | None = None
) -> FileRecords:
    """The raw record of one GitHub payload file (see the module doc)."""
    data = _read(path)
    doc, why = _payload(path, data)
    if why:
        return FileRecords(path, skipped=why)
    if isinstance(doc, dict) and "body_raw_base64" in doc and isinstance(doc.get("headers"), dict):
        headers = {str(k).lower(): str(v) for k, v in doc["headers"].items()}
        try:
            body = base64.b64decode(doc["body_raw_base64"], validate=True)
        except ValueError as exc:
            raise MalformedPayloadError(f"{path}: body_raw_base64 is not base64: {exc}") from None
        name = headers.get("x-github-event") or event
        if not name:
            raise MalformedPayloadError(
                f"{path}: recorded delivery without an x-github-event header"
            )
        delivery = headers.get("x-github-delivery")
        keep: dict[str, str] = {
            k: headers[k]
            for k in ("x-github-delivery", "x-github-event", "x-github-hook-id")
            if k in headers
        }
        return FileRecords(
            path,
            [
                make_raw(
                    "github",
                    name,
                    body,
                    delivery_id=delivery,
                    headers=keep,
                    received_at=received_at,
                )
            ],
        )
    name = event or path.parent.name
    return FileRecords(
        path,
        [
            make_raw(
                "github",
                name,
                data,
                delivery_id=None,
                headers={"x-github-event": name, "file": path.name},
                received_at=received_at,
            )
        ],
    )


def slack_export_channel_ids(root: Path) -> dict[str, str]:
    """Channel name → id from an export's ``channels.json`` / ``groups.json`` (if present)."""
    names: dict[str, str] = {}
    for meta in ("channels.json", "groups.json", "mpims.json", "dms.json"):
        p = root / meta
        if not p.is_file():
            continue
        try:
            entries = json.loads(p.read_bytes())
        except (OSError, ValueError):
            continue
        for ch in entries if isinstance(entries, list) else []:
            if isinstance(ch, dict) and ch.get("id"):
                names[str(ch.get("name") or ch["id"])] = str(ch["id"])
    return names


def _is_day_file(path: Path) -> bool:
    stem = path.stem
    return len(stem) == 10 and stem[4] == "-" and stem[7] == "-" and stem.replace("-", "").isdigit()


def slack_file(
    path: Path, *, channel_ids: dict[str, str] | None = None, received_at: datetime | None = None
) -> FileRecords:
    """The raw records of one Slack file (see the module doc)."""
    data = _read(path)
    if path.name in _EXPORT_METADATA:
        return FileRecords(path, skipped=f"Slack export metadata ({path.name}): no events")
    doc, why = _payload(path, data)
    if why:
        return FileRecords(path, skipped=why)
    if path.name == "channels.json" and isinstance(doc, list):
        recs = [
            make_raw(
                "slack",
                "export_channel",
                json.dumps(ch, sort_keys=True).encode(),
                delivery_id=f"export-channel:{ch.get('id')}",
                received_at=received_at,
                headers={"channel": str(ch.get("id") or "")},
            )
            for ch in doc
            if isinstance(ch, dict)
        ]
        return FileRecords(path, recs, None if recs else "channels.json lists no channels")
    if isinstance(doc, list):
        if not _is_day_file(path):
            raise MalformedPayloadError(
                f"{path}: a JSON list, but not an export day file <channel>/<YYYY-MM-DD>.json"
            )
        ids = (
            channel_ids if channel_ids is not None else slack_export_channel_ids(path.parent.parent)
        )
        channel = ids.get(path.parent.name, path.parent.name)
        recs = []
        for i, msg in enumerate(doc):
            if not isinstance(msg, dict):
                raise MalformedPayloadError(f"{path}: entry {i} is not a message object")
            body = json.dumps(msg, sort_keys=True).encode()
            ts = msg.get("ts") or hashlib.sha256(body).hexdigest()
            recs.append(
                make_raw(
                    "slack",
                    "export_message",
                    body,
                    delivery_id=f"export:{channel}:{ts}",
                    headers={"channel": channel, "channel_name": path.parent.name},
                    received_at=received_at,
                )
            )
        return FileRecords(path, recs, None if recs else "export day file without messages")
    if not isinstance(doc, dict):
        raise MalformedPayloadError(f"{path}: neither a JSON object nor a list of messages")
    if doc.get("type") == "event_callback":
        ev = doc["event"] if isinstance(doc.get("event"), dict) else {}
        return FileRecords(
            path,
            [
                make_raw(
                    "slack",
                    str(ev.get("type") or "event_callback"),
                    data,
                    delivery_id=doc.get("event_id") or None,
                    received_at=received_at,
                )
            ],
        )
    kind = "export_message" if doc.get("type") == "message" else str(doc.get("type") or "unknown")
    hint = path.parent.name if kind == "export_message" else None
    headers = {"channel": hint} if hint else {}
    return FileRecords(
        path,
        [make_raw("slack", kind, data, delivery_id=None, headers=headers, received_at=received_at)],
    )


def ics_file(path: Path, *, received_at: datetime | None = None) -> FileRecords:
    """The raw record of one iCalendar file (id from its digest); JSON is not a calendar."""
    data = _read(path)
    why = _not_a_payload_by_name(path, data)
    if why:
        return FileRecords(path, skipped=why)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        try:
            doc = parse_json(data, what=str(path))
        except MalformedPayloadError:
            doc = None  # not JSON after all: the calendar parser says what is wrong
        if doc is not None:
            why = _not_a_payload_by_content(doc) or "not-a-payload: a JSON document, not iCalendar"
            return FileRecords(path, skipped=why)
    return FileRecords(
        path,
        [
            make_raw(
                "ics",
                "calendar",
                data,
                delivery_id=None,
                headers={"file": path.name},
                received_at=received_at,
            )
        ],
    )
