"""The Slack Web API stub answers like Slack over real HTTP and records what was posted."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from agentstream.testing import SlackStubError, SlackWebStub


def test_post_message_thread_reply_and_auth() -> None:
    with SlackWebStub(token="xoxb-1") as slack:
        r = httpx.post(
            slack.base_url + "chat.postMessage",
            headers={"Authorization": "Bearer xoxb-1"},
            json={"channel": "C1", "text": "hi", "thread_ts": "1.000100"},
        )
        assert r.status_code == 200 and r.json()["ok"] is True
        ts = r.json()["ts"]
        posts = slack.wait_for_posts(1, timeout=timedelta(seconds=5))
        assert (posts[0].channel, posts[0].text, posts[0].thread_ts, posts[0].ts) == (
            "C1",
            "hi",
            "1.000100",
            ts,
        )
        form = httpx.post(
            slack.base_url + "chat.postMessage",
            data={"token": "xoxb-1", "channel": "C2", "text": "form body"},
        )
        assert form.json()["ok"] is True and slack.posts[1].thread_ts is None
        bad = httpx.post(
            slack.base_url + "chat.postMessage",
            headers={"Authorization": "Bearer wrong"},
            json={"channel": "C1", "text": "x"},
        )
        assert bad.json() == {"ok": False, "error": "invalid_auth"}
        me = httpx.post(slack.base_url + "auth.test", headers={"Authorization": "Bearer xoxb-1"})
        assert me.json()["user_id"] == "U0BOT"
        assert len(slack.posts) == 2


def test_scripted_rate_limit_then_success() -> None:
    with SlackWebStub() as slack:
        slack.fail_next(1, status=429, retry_after=2)
        h = {"Authorization": "Bearer xoxb-test"}
        r = httpx.post(
            slack.base_url + "chat.postMessage", headers=h, json={"channel": "C", "text": "t"}
        )
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"
        assert r.json() == {"ok": False, "error": "ratelimited"}
        ok = httpx.post(
            slack.base_url + "chat.postMessage", headers=h, json={"channel": "C", "text": "t"}
        )
        assert ok.json()["ok"] and len(slack.posts) == 1


def test_wait_for_posts_has_a_deadline() -> None:
    with SlackWebStub() as slack, pytest.raises(SlackStubError, match="0 of 1"):
        slack.wait_for_posts(1, timeout=timedelta(milliseconds=200))
