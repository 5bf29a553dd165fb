"""Console access: loopback by default; elsewhere a token on every request; CSRF on replay."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.e2e.harness import ROOT, child_env, start_console

from agentstream.console import ConsoleAccessError, ConsoleSettings, create_app, is_loopback

TOKEN = "s3cret-console-token-for-tests"
PAGES = ["/", "/agents/any", "/topics", "/topics/any/tail", "/topics/any/stream", "/teams",
         "/teams/payments", "/events/any-id", "/api/topology", "/healthz", "/nope"]


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert not is_loopback("console.example.com")


def test_non_loopback_without_a_token_refuses_to_start(bootstrap_servers: str) -> None:
    with pytest.raises(ConsoleAccessError, match="AGENTSTREAM_CONSOLE_TOKEN"):
        create_app(ConsoleSettings(host="0.0.0.0"))
    env = child_env(bootstrap_servers, AGENTSTREAM_CONSOLE_HOST="0.0.0.0")
    proc = subprocess.run(
        [sys.executable, "-m", "agentstream.cli", "console"],
        cwd=ROOT, env=env, capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 1
    assert b"AGENTSTREAM_CONSOLE_TOKEN" in proc.stderr


def test_bound_beyond_loopback_every_page_needs_the_token(
    bootstrap_servers: str, tmp_path: Path
) -> None:
    console = start_console(bootstrap_servers, tmp_path, host="0.0.0.0", token=TOKEN)
    try:
        with httpx.Client(base_url=console.url, timeout=10) as client:
            wrong_basic = "Basic " + base64.b64encode(b"admin:guess").decode()
            for path in PAGES:
                for headers in ({}, {"Authorization": "Bearer nope"},
                                {"Authorization": wrong_basic}):
                    r = client.get(path, headers=headers)
                    assert r.status_code == 401, (path, headers, r.status_code)
                    assert TOKEN not in r.text
                    assert r.headers["www-authenticate"].startswith("Basic")
            r = client.post("/agents/any/dlq/replay", data={"ref": "0:0"})
            assert r.status_code == 401
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert client.get("/healthz", headers=bearer).status_code == 200
            basic = "Basic " + base64.b64encode(f"ops:{TOKEN}".encode()).decode()
            page = client.get("/teams", headers={"Authorization": basic})
            assert page.status_code == 200 and TOKEN not in page.text
    finally:
        console.stop()
    assert TOKEN not in console.log.read_text()


def test_replay_refuses_cross_site_and_tokenless_posts(
    bootstrap_servers: str, tmp_path: Path
) -> None:
    console = start_console(bootstrap_servers, tmp_path)
    try:
        with httpx.Client(base_url=console.url, timeout=10) as client:
            page = client.get("/agents/any")
            csrf = client.cookies.get("agentstream_csrf")
            assert page.status_code == 200 and csrf
            cookie = page.headers["set-cookie"].lower()
            assert "samesite=strict" in cookie and "httponly" in cookie
            r = client.post("/agents/any/dlq/replay", data={"ref": "0:0"})
            assert r.status_code == 403 and "CSRF" in r.text
            r = client.post("/agents/any/dlq/replay", data={"ref": "0:0", "csrf": "x" * 43})
            assert r.status_code == 403
            r = client.post("/agents/any/dlq/replay", data={"ref": "0:0", "csrf": csrf},
                            headers={"Origin": "http://evil.example"})
            assert r.status_code == 403 and "cross-site" in r.text
            # Same origin with the right token: accepted (no such dead letter, said on the page).
            r = client.post("/agents/any/dlq/replay", data={"ref": "0:0", "csrf": csrf},
                            headers={"Origin": console.url})
            assert r.status_code == 303
    finally:
        console.stop()
