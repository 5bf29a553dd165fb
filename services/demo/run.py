"""`make demo`: a team's working week in, cited insights, a briefing and answers out.

1. Makes sure a broker answers (starts the local one with ``agentstream dev up`` if not, and
   stops it again at the end), applies the topic catalog.
2. Starts every service as its own process (gateway, normalizer, team-memory, pr-risk, focus,
   activity, notifier, indexer, daily-briefing, assistant) and a local Slack Web API stub.
3. Posts the scenario's signed GitHub and Slack webhooks to the gateway over HTTP, imports its
   calendar, asks the assistant questions in Slack, and requests the team's briefing.
4. Prints the insights, the briefing and the answers with the events they cite — and checks
   that every cited id exists on this run's topics — then the topology and the endpoints, and
   stops every process (``--follow`` keeps them running until Ctrl-C).

Everything is deterministic per ``--seed``: a second run re-delivers the same webhooks, which
every service recognises, so it adds no insight. Offline by default (offline model and
embedder); with ``OPENAI_BASE_URL`` (and ``OPENAI_API_KEY``) set, the LLM steps use that endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentstream.bus import make_admin, make_producer, wait_for_leaders
from agentstream.config import KafkaSettings
from agentstream.discovery import read_topology
from agentstream.events import BriefingRequested
from agentstream.schemas import new_meta
from agentstream.serde import make_serde
from agentstream.testing import SlackWebStub
from agentstream.topics import apply, load_catalog
from services.demo.procs import ROOT, Service, Services, agentstream, py
from services.demo.report import EVENT_TOPICS, INSIGHT_TOPICS, end_offsets, read_all, unresolved
from services.scenario.feed import ScenarioSettings, feed, write_files
from services.scenario.team import BOT_USER_ID, REPOS, TEAM
from services.scenario.week import DEFAULT_QUESTIONS, build_week, questions

PR_RISK_KINDS = ("stale-review", "reviewer-overload", "review-imbalance", "build-failing",
                 "large-pull-request")  # fmt: skip
GITHUB_SECRET = "demo-github-secret"
SLACK_SECRET = "demo-slack-signing-secret"
SLACK_TOKEN = "xoxb-demo-token"
_NS = uuid.UUID("9e4b7c2a-1d3f-4a5e-8b6c-0f2d4e6a8c10")


def say(msg: str) -> None:
    print(msg, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _broker_answers(kafka: KafkaSettings) -> bool:
    try:
        make_admin(kafka.client_config()).list_topics(timeout=5)
    except Exception:
        return False
    return True


def _local_port(kafka: KafkaSettings) -> int | None:
    """The port of a single loopback bootstrap address (a broker ``agentstream dev`` can run)."""
    host, _, port = kafka.bootstrap_servers.partition(":")
    if "," in kafka.bootstrap_servers or host not in ("127.0.0.1", "localhost") or not port:
        return None
    return int(port)


def _ensure_broker(kafka: KafkaSettings) -> bool:
    """True when this run started the local broker (and so stops it at the end)."""
    if _broker_answers(kafka):
        say(f"== broker {kafka.bootstrap_servers} is up")
        return False
    port = _local_port(kafka)
    if port is None:
        raise SystemExit(f"demo: no broker answers at {kafka.bootstrap_servers}")
    say(
        f"== no broker at {kafka.bootstrap_servers}: starting the local one "
        f"(agentstream dev up --port {port})"
    )
    subprocess.run(agentstream("dev", "up", "--port", str(port)), cwd=ROOT, check=True)
    return True


def _wait(what: str, predicate: Callable[[], Any], *, deadline: float, services: Services,
          every: float = 0.5, progress: Callable[[], str] | None = None) -> Any:  # fmt: skip
    last_print = 0.0
    while True:
        value = predicate()
        if value:
            return value
        dead = services.dead()
        if dead:
            raise SystemExit(f"demo: a service stopped while waiting for {what}: {dead}")
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"demo: gave up waiting for {what}")
        if progress is not None and now - last_print > 5:
            say(f"   … {progress()}")
            last_print = now
        time.sleep(every)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(200 <= r.status < 300)
    except OSError:
        return False


def _service_list(state: Path, slack: SlackWebStub, ports: dict[str, int]) -> list[Service]:
    indexer_url = f"http://127.0.0.1:{ports['search']}"
    identity = str(state / "scenario" / "identities.toml")
    svcs = [
        Service("gateway", agentstream("gateway", "--host", "127.0.0.1", "--port",
                                       str(ports["gateway"])),
                {"AGENTSTREAM_GATEWAY_GITHUB_SECRETS": GITHUB_SECRET,
                 "AGENTSTREAM_GATEWAY_SLACK_SIGNING_SECRETS": SLACK_SECRET},
                agent=False, http=f"http://127.0.0.1:{ports['gateway']}"),
        Service("normalizer", agentstream("run", "services.normalizer.agent:agent"),
                {"AGENTSTREAM_NORMALIZER_IDENTITY_MAP": identity}),
        Service("team-memory", agentstream("run", "services.team_memory.agent:agent"),
                {"AGENTSTREAM_TEAM_MEMORY_TEAM": TEAM}),
        Service("pr-risk", agentstream("run", "services.pr_risk.agent:agent"),
                {"AGENTSTREAM_PR_RISK_TEAM": TEAM, "AGENTSTREAM_PR_RISK_REPLAY_GRACE": "5"}),
        Service("notifier", agentstream("run", "services.notifier.agent:agent"),
                {"AGENTSTREAM_NOTIFIER_SINKS": '["console", "jsonl"]',
                 "AGENTSTREAM_NOTIFIER_JSONL_PATH": str(state / "notifier.jsonl")}),
        Service("indexer", py("services.indexer"),
                {"AGENTSTREAM_INDEXER_PATH": str(state / "qdrant"),
                 "AGENTSTREAM_INDEXER_SEARCH_PORT": str(ports["search"]),
                 "AGENTSTREAM_INDEXER_FORGET_TOPICS": json.dumps(
                     ["memory.team-memory.people", "memory.team-memory.repos"])},
                http=indexer_url + "/search"),
        Service("daily-briefing", py("services.daily_briefing"),
                {"AGENTSTREAM_BRIEFING_TEAMS": json.dumps([TEAM]),
                 "AGENTSTREAM_BRIEFING_INDEXER_URL": indexer_url}),
        Service("assistant", py("services.assistant"),
                {"AGENTSTREAM_ASSISTANT_SLACK_BASE_URL": slack.base_url,
                 "AGENTSTREAM_ASSISTANT_SLACK_BOT_TOKEN": SLACK_TOKEN,
                 "AGENTSTREAM_ASSISTANT_BOT_USER_ID": BOT_USER_ID,
                 "AGENTSTREAM_ASSISTANT_REPOS": json.dumps(list(REPOS)),
                 "AGENTSTREAM_ASSISTANT_INDEXER_URL": indexer_url}),
    ]  # fmt: skip
    # Services that may not be in every checkout run when present.
    extra_env = {
        "focus": {"AGENTSTREAM_FOCUS_TEAM": TEAM, "AGENTSTREAM_FOCUS_SUMMARY_DELAY": "3"},
        # Short idle and flush times: the week's windows are published before the demo ends.
        "activity": {
            "AGENTSTREAM_ACTIVITY_TEAM": TEAM,
            "AGENTSTREAM_ACTIVITY_STATE_DIR": str(state / "activity"),
            "AGENTSTREAM_ACTIVITY_IDLE": "PT2S",
            "AGENTSTREAM_ACTIVITY_FLUSH_INTERVAL": "PT1S",
        },
    }
    for name, module in (("focus", "services.focus"), ("activity", "services.activity")):
        folder = ROOT / "services" / module.split(".")[1]
        if (folder / "__main__.py").exists():  # a Faust app: not an agent, no descriptor
            svcs.append(Service(name, py(module), extra_env[name], agent=False))
        elif (folder / "agent.py").exists():
            svcs.append(Service(name, agentstream("run", f"{module}.agent:agent"), extra_env[name]))
    port = ports["ops"]
    for s in svcs:
        if s.agent:
            s.ops_port = port
            port += 1
    by_name = {s.name: s for s in svcs}
    # The assistant reads the review graph from team-memory's ops endpoint.
    by_name["assistant"].env["AGENTSTREAM_ASSISTANT_TEAM_MEMORY_URL"] = (
        f"http://127.0.0.1:{by_name['team-memory'].ops_port}"
    )
    # So does the briefing: open pull requests, pending reviews, who is overloaded.
    by_name["daily-briefing"].env["AGENTSTREAM_BRIEFING_TEAM_MEMORY_URL"] = (
        by_name["assistant"].env["AGENTSTREAM_ASSISTANT_TEAM_MEMORY_URL"]
    )
    return svcs


def _topology(kafka: KafkaSettings, names: set[str]) -> list[Any]:
    views = [v for v in read_topology(kafka, timeout=timedelta(seconds=10))
             if v.name in names and v.live_instances]  # fmt: skip
    return views if {v.name for v in views} >= names else []


def _counts(kafka: KafkaSettings, topics: tuple[str, ...], since: dict[tuple[str, int], int]
            ) -> dict[str, int]:  # fmt: skip
    now = end_offsets(kafka, topics)
    out: dict[str, int] = {}
    for (t, p), end in now.items():
        out[t] = out.get(t, 0) + end - since.get((t, p), 0)
    return out


def _publish(kafka: KafkaSettings, topic: str, record: Any) -> None:
    p = make_producer(kafka.client_config(**{"enable.idempotence": True}))
    p.produce(topic, key=record.meta.subject.encode(),
              value=make_serde(kafka).encode(topic, record))  # fmt: skip
    if p.flush(30):
        raise SystemExit(f"demo: {topic} did not acknowledge within 30 s")


def _briefing_request(seed: int, week_start: datetime) -> BriefingRequested:
    rid = str(uuid.uuid5(_NS, f"briefing|{seed}|{week_start.date().isoformat()}"))
    meta = new_meta(BriefingRequested, source="demo", subject=TEAM)
    meta = meta.replace(id=rid, correlation_id=rid)
    return BriefingRequested(meta=meta, team=TEAM, audience="C0ENG",
                             period_start=week_start - timedelta(days=1),
                             period_end=datetime.now(UTC) + timedelta(minutes=10),
                             requested_by="demo")  # fmt: skip


def _print_insights(records: list[Any], known: set[str], new_ids: set[str]) -> dict[str, int]:
    """Print each insight once (by id) with what it cites; count the failures of the check."""
    seen: set[str] = set()
    stats = {"printed": 0, "unresolved": 0}
    order = {"RiskDetected": 0, "ActivitySummary": 1, "BriefingReady": 2, "AssistantAnswered": 3}
    records = sorted(records, key=lambda r: (order.get(type(r).__name__, 9), r.meta.subject))
    for r in records:
        rid = str(r.meta.id)
        if rid in seen:
            continue
        seen.add(rid)
        stats["printed"] += 1
        kind = type(r).__name__
        tag = "new" if rid in new_ids else "earlier run"
        missing = unresolved(r, known)
        stats["unresolved"] += len(missing)
        cites = ", ".join(str(x) for x in r.based_on) or "nothing"
        if kind == "RiskDetected":
            head = f"RiskDetected [{r.severity.value}] {r.kind}: {r.title}"
        elif kind == "ActivitySummary":
            head = f"ActivitySummary {r.entity}: {r.summary}"
        elif kind == "BriefingReady":
            head = f"BriefingReady {r.title}\n" + "\n".join(
                f"      {ln}" for ln in r.body.splitlines()
            )
        else:
            head = f"AssistantAnswered to {r.question!r}:\n" + "\n".join(
                f"      {ln}" for ln in r.answer.splitlines()
            )
        say(f"   {head}")
        say(f"      id {rid} ({tag}); cites {cites}")
        if missing:
            say(f"      !! cites ids found on no topic of this run: {missing}")
    return stats


def main(argv: list[str] | None = None) -> int:  # noqa: C901, PLR0912, PLR0915 - the script, in order
    ap = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    ap.add_argument("--follow", action="store_true", help="keep the services running (Ctrl-C)")
    ap.add_argument("--seed", type=int, default=1, help="scenario seed (same seed, same ids)")
    ap.add_argument("--question", action="append", help="ask the assistant this (repeatable)")
    ap.add_argument("--state", type=Path, default=Path(os.environ.get(
        "AGENTSTREAM_HOME", Path.home() / ".agentstream")) / "demo",
        help="where the demo keeps its index, logs and scenario files")  # fmt: skip
    ap.add_argument("--timeout", type=float, default=240, help="seconds before giving up")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    kafka = KafkaSettings()
    started_broker = _ensure_broker(kafka)
    report = apply(make_admin(kafka.client_config()),
                   load_catalog(ROOT / "topics.toml", prefix=kafka.topic_prefix))  # fmt: skip
    say(f"== topics applied: {sum(1 for ln in report.lines() if ln)} catalog entries checked")
    admin = make_admin(kafka.client_config())
    for t in (*EVENT_TOPICS, *INSIGHT_TOPICS, "events.assistant"):
        wait_for_leaders(admin, t, timeout=timedelta(seconds=60))
    state: Path = args.state
    week = build_week(seed=args.seed)
    write_files(week, state / "scenario")
    texts = tuple(args.question or DEFAULT_QUESTIONS)
    asks = questions(seed=args.seed, texts=texts)
    since = end_offsets(kafka, (*EVENT_TOPICS, *INSIGHT_TOPICS))
    ports = {"gateway": _free_port(), "search": _free_port(), "ops": 9181}
    slack = SlackWebStub(token=SLACK_TOKEN, bot_user_id=BOT_USER_ID).start()
    services = Services(bootstrap=kafka.bootstrap_servers, logs=state / "logs")
    stop_requested = False

    def on_signal(_sig: int, _frame: Any) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        svcs = _service_list(state, slack, ports)
        say(f"== starting {len(svcs)} services, each its own process (logs in {state / 'logs'})")
        for s in svcs:
            services.start(s)
            say(f"   {s.name:<15} pid {s.proc.pid if s.proc else '?'}")
        names = {s.name for s in svcs if s.agent}

        def live() -> bool:
            views = read_topology(kafka, timeout=timedelta(seconds=5))
            up = {v.name for v in views if v.live_instances}
            return names <= up and _http_ok(f"{svcs[0].http}/healthz")

        _wait("every service to announce itself", live, deadline=deadline, services=services,
              every=1.0, progress=lambda: "services starting")  # fmt: skip
        say(f"== all services up after {time.monotonic() - t0:.0f} s")

        settings = ScenarioSettings(gateway_url=svcs[0].http or "", github_secret=GITHUB_SECRET,
                                    slack_signing_secret=SLACK_SECRET, seed=args.seed)  # fmt: skip
        say(
            f"== feeding the week of {week.week_start} through the gateway: "
            f"{len(week.deliveries)} signed webhooks {week.counts()}"
        )
        fed = feed(week.deliveries, settings)
        say(f"   accepted {fed.accepted}, ignored {fed.ignored} {fed.ignored_reasons[:3]}")
        env = {**os.environ, "AGENTSTREAM_BOOTSTRAP_SERVERS": kafka.bootstrap_servers}
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        out = subprocess.run(agentstream("import", "ics", str(state / "scenario" / "calendar.ics")),
                             cwd=ROOT, env={k: v for k, v in env.items()
                                            if not k.startswith("AGENTSTREAM_") or
                                            k == "AGENTSTREAM_BOOTSTRAP_SERVERS"},
                             capture_output=True, text=True, check=False)  # fmt: skip
        say(f"   calendar: {(out.stdout.strip().splitlines() or [out.stderr.strip()])[-1]}")

        def risk_kinds() -> set[str]:
            return {r.record.kind for r in read_all(kafka, ["insights.risks"])
                    if getattr(r.record, "kind", None)}  # fmt: skip

        def progress() -> str:
            c = _counts(kafka, (*EVENT_TOPICS, *INSIGHT_TOPICS), since)
            return ", ".join(f"{t} +{n}" for t, n in c.items() if n) or "waiting for events"

        kinds = _wait("a risk of every kind", lambda: set(PR_RISK_KINDS) <= risk_kinds() and
                      risk_kinds(), deadline=deadline, services=services, every=2.0,
                      progress=progress)  # fmt: skip
        say(
            f"== risks of every kind published after {time.monotonic() - t0:.0f} s: {sorted(kinds)}"
        )
        quiet: dict[str, Any] = {"ends": None, "since": time.monotonic()}

        def settled() -> bool:
            # Every topic unchanged for 5 s: the week's events are handled everywhere.
            ends = end_offsets(kafka, ("ingest.github", "ingest.slack", "ingest.calendar",
                                       *EVENT_TOPICS, *INSIGHT_TOPICS))  # fmt: skip
            if ends != quiet["ends"]:
                quiet.update(ends=ends, since=time.monotonic())
            return time.monotonic() - quiet["since"] > 5

        _wait("the pipeline to settle", settled, deadline=deadline, services=services,
              every=1.0, progress=progress)  # fmt: skip
        say(f"== pipeline settled after {time.monotonic() - t0:.0f} s: {progress()}")

        say(f"== asking the assistant in Slack: {list(texts)}")
        feed(asks, settings)

        def answered() -> list[Any]:
            got = [r.record for r in read_all(kafka, ["insights.answers"])]
            qs = {a.question for a in got}
            return got if all(t in qs for t in texts) else []

        _wait("the assistant's answers", answered, deadline=deadline, services=services,
              progress=lambda: f"{len(slack.posts)} Slack replies so far")  # fmt: skip
        for post in slack.posts:
            say(
                f"   Slack reply in {post.channel} thread {post.thread_ts}: "
                f"{post.text.splitlines()[0][:160]}"
            )

        req = _briefing_request(args.seed, datetime.combine(week.week_start, datetime.min.time(),
                                                            tzinfo=UTC))  # fmt: skip
        say(f"== requesting the {TEAM} briefing ({req.meta.id})")
        _publish(kafka, "events.assistant", req)
        _wait("the briefing", lambda: [r for r in read_all(kafka, ["insights.briefings"])
                                       if r.record.meta.causation_id == str(req.meta.id)],
              deadline=deadline, services=services, progress=progress)  # fmt: skip
        # Insights the questions and the briefing caused (e.g. activity windows) land first.
        quiet.update(ends=None, since=time.monotonic())
        _wait("the pipeline to settle", settled, deadline=deadline, services=services, every=1.0)

        reads = read_all(kafka, (*EVENT_TOPICS, *INSIGHT_TOPICS, "events.assistant"))
        known = {str(r.record.meta.id) for r in reads if hasattr(r.record, "meta")}
        ours = {str(r.record.meta.id) for r in reads if r.topic in EVENT_TOPICS
                and str(r.record.meta.source).startswith("connector.")}  # fmt: skip
        insights = [r for r in reads if r.topic in INSIGHT_TOPICS]
        # New = an insight id first published in this run (a service re-sending an insight under
        # its same id, as redeliveries do, is no new insight: consumers deduplicate by id).
        before = {str(r.record.meta.id) for r in insights
                  if r.offset < since.get((r.topic, r.partition), 0)}  # fmt: skip
        new_ids = {str(r.record.meta.id) for r in insights} - before

        # Insights standing on this scenario's events (directly or through other insights).
        mine: set[str] = set()
        changed = True
        while changed:
            changed = False
            for r in insights:
                rid = str(r.record.meta.id)
                if rid not in mine and any(str(x) in ours | mine for x in r.record.based_on):
                    mine.add(rid)
                    changed = True
        shown = [r.record for r in insights if str(r.record.meta.id) in mine]
        say(f"== insights citing this scenario's events ({len(ours)} events from connectors)")
        stats = _print_insights(shown, known, new_ids)
        new_here = len({i for i in new_ids if i in mine})
        say(
            f"== {stats['printed']} insights, {new_here} new in this run; "
            f"unresolved citations: {stats['unresolved']}"
        )
        say("== topology (agentstream agents)")
        views = _wait(
            "the topology",
            lambda: _topology(kafka, names),
            deadline=time.monotonic() + 30,
            services=services,
            every=1.0,
        )
        for v in sorted(views, key=lambda v: v.name):
            if v.name in names:
                say(
                    f"   {v.name} {v.version}: consumes {dict(v.consumes)} emits {dict(v.emits)} "
                    f"live {len(v.live_instances)}"
                )
        say("== where things are served")
        for s in svcs:
            where = [f"http://127.0.0.1:{s.ops_port}/metrics"] if s.ops_port else []
            if s.http:
                where.append(s.http)
            say(f"   {s.name:<15} {'  '.join(where) or '(no HTTP endpoint: see its log)'}")
        say(
            f"   notifier console: {state / 'logs' / 'notifier.log'} (as JSON lines: "
            f"{state / 'notifier.jsonl'})"
        )
        say(f"   Slack Web API stub: {slack.base_url} ({len(slack.posts)} message(s) posted)")
        say(f"== demo finished in {time.monotonic() - t0:.0f} s")
        if args.follow:
            say("== --follow: services keep running; Ctrl-C stops them")
            while not stop_requested and not services.dead():
                time.sleep(1)
        return 1 if stats["unresolved"] else 0
    except KeyboardInterrupt:
        return 130
    finally:
        say("== stopping every service")
        for line in services.stop():
            say(f"   {line}")
        slack.stop()
        if started_broker:
            say("== stopping the local broker this run started (agentstream dev down)")
            subprocess.run(
                agentstream("dev", "down", "--port", str(_local_port(kafka))), cwd=ROOT, check=False
            )


if __name__ == "__main__":
    sys.exit(main())
