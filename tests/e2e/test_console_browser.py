"""The console in a real browser: an operator replays a dead letter, a manager reads the team page.

Real broker, a real agent process (``agentstream run``), the console as its own process
(``agentstream console``) and headless Chromium. Screenshots: tests/e2e/screenshots/<test>/.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from agentstream.config import KafkaSettings
from agentstream.events import (
    ActivitySummary,
    BriefingReady,
    PullRequestOpened,
    RiskDetected,
    RiskSeverity,
)
from agentstream.localkafka import free_port
from agentstream.ops.dlq import read_dead_letters
from agentstream.schemas import Record, new_meta
from agentstream.serde import make_serde
from agentstream.testing import consume_until, consumer, produce
from tests.e2e.harness import ROOT, Console, child_env, start_console, wait_http

TARGET = "tests.e2e.agents.flaky:agent"


def _pr(number: int, title: str) -> PullRequestOpened:
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="connector.github", subject=f"octo/pay#{number}"),
        repo="octo/pay", number=number, title=title, url=f"https://example.com/pr/{number}",
        author="alice", base_branch="main", head_branch=f"f{number}",
        created_at=datetime.now(UTC),
    )


def _send(bootstrap: str, topic: str, records: list[Record]) -> None:
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    produce(bootstrap, topic,
            [(r.meta.subject.encode(), serde.encode(topic, r)) for r in records])  # type: ignore[attr-defined]


def _wait(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.2)


def _outputs(bootstrap: str, topic: str, n: int) -> list[Any]:
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    with consumer(bootstrap) as c:
        c.subscribe([topic])
        msgs = consume_until(c, count=n, timeout=timedelta(seconds=60))
    return [serde.decode(topic, m.value()) for m in msgs]


def _reload_until(page: Any, selector: str, text: str, *, timeout: float = 30) -> None:
    """Server-rendered pages show what the console knew at request time: reload until shown."""
    deadline = time.monotonic() + timeout
    while True:
        loc = page.locator(selector)
        if loc.count() and text in loc.first.inner_text():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never showed {text!r}: {page.content()[:3000]}")
        time.sleep(0.5)
        page.reload()


@pytest.fixture
def flaky_agent(bootstrap_servers: str, topic_factory, tmp_path: Path) -> Iterator[dict[str, Any]]:
    src, out = topic_factory(partitions=2), topic_factory(partitions=1)
    ops_port = free_port()
    info = {"name": f"flaky-{src}", "src": src, "out": out, "ops_port": ops_port,
            "fixed": tmp_path / "fixed"}
    env = child_env(
        bootstrap_servers,
        FLAKY_AGENT=info["name"], FLAKY_IN=src, FLAKY_OUT=out, FLAKY_FIXED=str(info["fixed"]),
        AGENTSTREAM_AGENT_OPS_PORT=str(ops_port), AGENTSTREAM_AGENT_OPS_HOST="127.0.0.1",
        AGENTSTREAM_AGENT_COMMIT_INTERVAL="0.2",
    )
    log = tmp_path / "agent.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentstream.cli", "run", TARGET],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{ops_port}/readyz", timeout=90)
        yield info
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_operator_replays_a_dead_letter_and_manager_reads_the_team_page(  # noqa: PLR0917
    bootstrap_servers: str, topic_factory, flaky_agent: dict[str, Any], browser: Any,
    screenshot_dir: Path, tmp_path: Path,
) -> None:
    a = flaky_agent
    briefings, risks, activity = (topic_factory() for _ in range(3))
    good = [_pr(1, "Add refunds endpoint"), _pr(2, "Fix rounding"), _pr(3, "Docs")]
    poison = _pr(4, "poison: title the parser chokes on")
    _send(bootstrap_servers, a["src"], [*good, poison])
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    _wait(lambda: len(read_dead_letters(kafka, a["name"], timeout=10)) == 1, timeout=60,
          what="the poison PR dead-lettered")
    assert len(_outputs(bootstrap_servers, a["out"], 3)) == 3

    console = start_console(
        bootstrap_servers, tmp_path, ops_urls=[f"http://127.0.0.1:{a['ops_port']}"],
        briefings_topic=briefings, risks_topic=risks, activity_topic=activity,
        evidence_topics=[a["src"]], teams={"payments": ["octo/pay*"]},
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _operator_flow(page, console, a, poison, bootstrap=bootstrap_servers,
                       shots=screenshot_dir)
        _manager_flow(page, console, good, bootstrap=bootstrap_servers,
                      topics=(briefings, risks, activity), shots=screenshot_dir)
    finally:
        page.close()
        console.stop()


def _operator_flow(
    page: Any, console: Console, a: dict[str, Any], poison: PullRequestOpened, *,
    bootstrap: str, shots: Path,
) -> None:
    page.goto(console.url + "/")
    _reload_until(page, f'#agents a[data-agent="{a["name"]}"]', a["name"])
    row = page.locator("#agents tr", has=page.locator(f'a[data-agent="{a["name"]}"]'))
    assert "2.3.1" in row.inner_text()
    assert a["src"] in row.inner_text() and a["out"] in row.inner_text()
    assert "PullRequestOpened" in row.inner_text() and "RiskDetected" in row.inner_text()
    page.screenshot(path=str(shots / "1-topology.png"), full_page=True)

    page.click(f'#agents a[data-agent="{a["name"]}"]')
    page.wait_for_selector("#dead-letters")
    dead = page.locator("#dead-letters tbody tr")
    assert dead.count() == 1
    text = dead.first.inner_text()
    assert "handle" in text and "NonRetryableError" in text and "cannot parse the title" in text
    assert page.locator("#io").inner_text().count(a["src"]) >= 1  # metrics from /metrics
    page.screenshot(path=str(shots / "2-agent-dead-letter.png"), full_page=True)

    a["fixed"].write_text("fixed")  # the bug is fixed; now the operator replays
    page.click("#dead-letters button[data-replay]")
    page.wait_for_selector("#replayed")
    assert f"-> {a['src']}" in page.locator("#replayed").inner_text()
    page.screenshot(path=str(shots / "3-replayed.png"), full_page=True)

    handled = _outputs(bootstrap, a["out"], 4)
    assert [o.title for o in handled if "poison" in o.title] == [f"handled {poison.title}"]
    assert handled[-1].based_on == (poison.meta.id,)

    # The live tail shows the handled output, decoded, as it streams in.
    page.goto(console.url + f"/topics/{a['out']}/tail?from=beginning")
    page.wait_for_function(
        "document.querySelector('#tail tbody') && "
        "document.querySelector('#tail tbody').innerText.includes('handled poison')",
        timeout=30_000,
    )
    assert page.locator("#status").inner_text() == "live"
    page.screenshot(path=str(shots / "4-tail.png"), full_page=True)


def _manager_flow(
    page: Any, console: Console, good: list[PullRequestOpened], *, bootstrap: str,
    topics: tuple[str, str, str], shots: Path,
) -> None:
    briefings, risks, activity = topics
    now = datetime.now(UTC)
    risk = RiskDetected(
        meta=new_meta(RiskDetected, source="agent.pr-risk", subject="octo/pay#1"),
        based_on=(good[0].meta.id,), kind="stale-review", severity=RiskSeverity.HIGH,
        title="PR #1 has waited 3 days for a first review",
        summary="Nobody has reviewed 'Add refunds endpoint' since it was opened.",
        recommendation="Ask bob, who reviewed the last refunds change.",
    )
    briefing = BriefingReady(
        meta=new_meta(BriefingReady, source="agent.daily-briefing", subject="payments"),
        based_on=(good[0].meta.id, good[1].meta.id, risk.meta.id), audience="payments",
        period_start=now - timedelta(days=1), period_end=now,
        title="Payments: one review is blocking refunds",
        body="## Needs attention\n- **PR #1** waits for review <script>alert(1)</script>\n\n"
             "## Went well\n- Rounding fixed",
        highlights=("PR #1 needs a reviewer", "PR #2 merged"),
    )
    summary = ActivitySummary(
        meta=new_meta(ActivitySummary, source="agent.activity", subject="octo/pay"),
        based_on=tuple(g.meta.id for g in good), entity="octo/pay",
        period_start=now - timedelta(days=1), period_end=now,
        counts={"PullRequestOpened": 3}, summary="3 pull requests opened",
    )
    _send(bootstrap, risks, [risk])
    _send(bootstrap, briefings, [briefing])
    _send(bootstrap, activity, [summary])

    page.goto(console.url + "/teams")
    _reload_until(page, "#teams", "payments")
    page.click('#teams a:text-is("payments")')
    _reload_until(page, "#briefing", briefing.title)
    brief = page.locator("#briefing")
    assert "Today's briefing" in brief.inner_text()
    assert page.locator("#briefing strong", has_text="PR #1").count() == 1  # markdown rendered
    assert page.locator("#briefing script").count() == 0  # raw HTML is not
    _reload_until(page, "#risks", risk.title)
    _reload_until(page, "#activity", "3 pull requests opened")
    card = page.locator(f'.risk[data-risk="{risk.meta.id}"]')
    assert "HIGH" in card.inner_text() and "Ask bob" in card.inner_text()
    page.screenshot(path=str(shots / "5-team.png"), full_page=True)

    card.locator(f'a[data-evidence="{good[0].meta.id}"]').click()
    page.wait_for_selector("#event")
    event = page.locator("#event").inner_text()
    assert "agentstream.events.code.PullRequestOpened" in event
    assert "Add refunds endpoint" in event
    assert risk.title in page.content()  # "cited by" lists the risk
    page.screenshot(path=str(shots / "6-evidence.png"), full_page=True)
    page.go_back()
    brief_link = page.locator(f'#briefing a[data-evidence="{risk.meta.id}"]')
    brief_link.click()
    page.wait_for_selector("#event")
    assert "RiskDetected" in page.locator("#event").inner_text()


def test_browser_without_the_token_is_refused_beyond_loopback(
    bootstrap_servers: str, browser: Any, screenshot_dir: Path, tmp_path: Path
) -> None:
    token = "browser-test-token"
    console = start_console(bootstrap_servers, tmp_path, host="0.0.0.0", token=token)
    try:
        anonymous = browser.new_context()
        page = anonymous.new_page()
        for path in ("/", "/teams", "/topics", "/healthz"):
            # Chromium gives up on the basic-auth challenge it cannot answer ...
            with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
                page.goto(console.url + path)
            # ... and the response it got was a 401 that shows nothing of the console.
            resp = anonymous.request.get(console.url + path)
            assert resp.status == 401 and token not in resp.text()
            assert "Topology" not in resp.text()
        anonymous.close()
        authed = browser.new_context(http_credentials={"username": "ops", "password": token})
        page = authed.new_page()
        assert page.goto(console.url + "/").status == 200
        assert page.locator("h1").inner_text() == "Topology"
        page.screenshot(path=str(screenshot_dir / "with-token.png"))
        authed.close()
    finally:
        console.stop()
