"""Webhook signatures: GitHub ``X-Hub-Signature-256`` and Slack ``v0`` request signing.

Both are HMAC-SHA256 over the raw body bytes exactly as received (re-serialised JSON would not
verify), compared in constant time with ``hmac.compare_digest``. Several secrets may be valid at
once so a secret can be rotated without dropping deliveries: the signature is accepted when any
of them matches. Error messages never contain a secret or a computed digest.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from agentstream.connectors._errors import SignatureError

__all__ = [
    "SLACK_MAX_SKEW",
    "sign_github",
    "sign_slack",
    "verify_github",
    "verify_slack",
]

# Slack's own SDKs refuse requests whose timestamp is more than five minutes off (replay guard).
SLACK_MAX_SKEW = timedelta(minutes=5)


def _hex_hmac(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _as_bytes(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_github(secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``: ``sha256=<hex>``."""
    return "sha256=" + _hex_hmac(_as_bytes(secret), body)


def verify_github(secrets: Sequence[str | bytes], body: bytes, signature: str | None) -> None:
    """Check ``X-Hub-Signature-256`` against each of ``secrets``; raise ``SignatureError``."""
    if not secrets:
        raise SignatureError("no GitHub webhook secret is configured; refusing every delivery")
    if not signature:
        raise SignatureError("missing X-Hub-Signature-256 header")
    scheme, _, given = signature.strip().partition("=")
    if scheme != "sha256" or len(given) != 64:
        raise SignatureError("X-Hub-Signature-256 is not of the form sha256=<64 hex digits>")
    given_b = given.lower().encode()
    # Every secret is tried (no early exit), so timing does not tell which one matched.
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(_hex_hmac(_as_bytes(secret), body).encode(), given_b)
    if not ok:
        raise SignatureError(
            "X-Hub-Signature-256 does not match the body for any configured secret"
        )


def sign_slack(secret: str | bytes, timestamp: str | int, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack sends: ``v0=`` HMAC of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + _hex_hmac(_as_bytes(secret), base)


def verify_slack(
    secrets: Sequence[str | bytes],
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    clock: Callable[[], float] = time.time,
    max_skew: timedelta = SLACK_MAX_SKEW,
) -> None:
    """Check ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp``; raise ``SignatureError``.

    ``clock`` (default ``time.time``) is what "now" is; tests pass a fixed clock to replay old
    signed captures. A timestamp more than ``max_skew`` (5 minutes) from now is refused.
    """
    if not secrets:
        raise SignatureError("no Slack signing secret is configured; refusing every request")
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Signature or X-Slack-Request-Timestamp header")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise SignatureError("X-Slack-Request-Timestamp is not a whole number of seconds") from None
    skew = abs(clock() - ts)
    if skew > max_skew.total_seconds():
        raise SignatureError(
            f"X-Slack-Request-Timestamp is {int(skew)} s away from now (limit "
            f"{int(max_skew.total_seconds())} s): a replayed request, or a clock is wrong"
        )
    scheme, _, given = signature.strip().partition("=")
    if scheme != "v0" or len(given) != 64:
        raise SignatureError("X-Slack-Signature is not of the form v0=<64 hex digits>")
    base = b"v0:" + timestamp.strip().encode() + b":" + body
    given_b = given.lower().encode()
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(_hex_hmac(_as_bytes(secret), base).encode(), given_b)
    if not ok:
        raise SignatureError(
            "X-Slack-Signature does not match the request for any configured secret"
        )
