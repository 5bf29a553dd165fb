"""The two Slack Web API calls the assistant makes: ``chat.postMessage`` and
``conversations.replies`` (to find a reply it already posted before a crash)."""

from __future__ import annotations

from typing import Any

import httpx

from agentstream.errors import AgentStreamError
from agentstream.runtime import NonRetryableError

__all__ = ["SlackApiError", "SlackClient"]

# Errors that no retry can fix (https://api.slack.com/methods/chat.postMessage#errors).
_FATAL = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "no_permission",
    "missing_scope",
    "msg_too_long",
}


class SlackApiError(AgentStreamError):
    """Slack refused a call; ``retry_after`` (seconds) is set when it asked to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SlackClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        if not token:
            raise NonRetryableError(
                "no Slack bot token: set AGENTSTREAM_ASSISTANT_SLACK_BOT_TOKEN (xoxb-...)"
            )
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._headers = {"Authorization": f"Bearer {token}"}
        self.timeout = timeout

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            r = await client.post(self.base_url + method, json=body, headers=self._headers)
        if r.status_code == 429:
            wait = float(r.headers.get("Retry-After", "1") or 1)
            raise SlackApiError(
                f"Slack {method}: rate limited, retry after {wait}s", retry_after=wait
            )
        if r.status_code >= 500:
            raise SlackApiError(f"Slack {method}: HTTP {r.status_code}")
        doc: dict[str, Any] = r.json()
        if not doc.get("ok"):
            err = str(doc.get("error"))
            if err in _FATAL:
                raise NonRetryableError(f"Slack {method} refused: {err}")
            raise SlackApiError(f"Slack {method} failed: {err}")
        return doc

    async def post_reply(self, channel: str, thread_ts: str, text: str) -> str:
        """Post ``text`` in the thread; returns the reply's ts."""
        doc = await self._call(
            "chat.postMessage",
            {"channel": channel, "thread_ts": thread_ts, "text": text, "unfurl_links": False},
        )
        return str(doc["ts"])

    async def find_reply(self, channel: str, thread_ts: str, marker: str) -> str | None:
        """The ts of a reply in the thread that contains ``marker``, if one was posted."""
        try:
            doc = await self._call("conversations.replies", {"channel": channel, "ts": thread_ts})
        except SlackApiError:
            return None
        for m in doc.get("messages") or []:
            if marker in str(m.get("text", "")):
                return str(m["ts"])
        return None
