"""The managers' surface: per team, today's briefing, open risks with evidence, activity.

A team is named by a briefing's ``audience`` or by ``ConsoleSettings.teams``, whose glob patterns
pick the risks and activity summaries (by subject or entity) that belong to it; a team without
patterns sees every risk. Risks cited by the team's briefing are always shown. Every ``based_on``
id links to ``/events/<id>``, which shows the cited event from the console's index.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fnmatch import fnmatchcase

from starlette.requests import Request
from starlette.responses import Response

from agentstream.console._html import esc, link, markdown, pre_json, table, url
from agentstream.console._index import IndexedEvent
from agentstream.console._ops_pages import console_state, html_page
from agentstream.console._state import ConsoleState

__all__ = ["event_page", "team_page", "teams_page"]

_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _teams(st: ConsoleState) -> list[str]:
    names = set(st.settings.teams)
    names.update(str(b.value.get("audience", "")) for b in st.index.insights("briefings"))
    return sorted(n for n in names if n)


def _in_scope(st: ConsoleState, team: str, event: IndexedEvent) -> bool:
    patterns = st.settings.teams.get(team)
    if not patterns:
        return True
    keys = [event.subject, str(event.value.get("entity", ""))]
    return any(fnmatchcase(k, p) for k in keys if k for p in patterns)


def _evidence(st: ConsoleState, ids: list[str]) -> str:
    if not ids:
        return '<span class="muted">no evidence cited</span>'
    items = []
    for i in ids:
        found = st.index.find(i)
        label = f"{found.type.rsplit('.', 1)[-1]} {found.subject}" if found else i
        items.append(f"<li>{link(url('events', i), label, data_evidence=i)}</li>")
    return f'<ul class="evidence">{"".join(items)}</ul>'


async def teams_page(request: Request) -> Response:
    st = console_state(request)
    briefings = st.index.insights("briefings")
    rows = []
    for team in _teams(st):
        latest = next((b for b in briefings if b.value.get("audience") == team), None)
        rows.append([link(url("teams", team), team),
                     esc(latest.value.get("title") if latest else "-"),
                     esc(latest.time if latest else "")])
    note = "" if st.index.caught_up() else "<p class=muted>Still reading insight topics…</p>"
    return html_page(request, "Teams", note + table(
        ["team", "latest briefing", "at"], rows, id_="teams",
        empty=f"no briefing on {st.settings.briefings_topic} yet and no team configured",
    ))


def _briefing_html(st: ConsoleState, b: IndexedEvent | None, today: str) -> str:
    if b is None:
        return '<div class="card" id="briefing"><p class="muted">No briefing yet.</p></div>'
    v = b.value
    when = str(v.get("period_end") or b.time)
    heading = "Today's briefing" if when[:10] == today or b.time[:10] == today else (
        f"Latest briefing ({esc(when[:10])})")
    highlights = "".join(f"<li>{esc(h)}</li>" for h in v.get("highlights") or [])
    return (
        f'<div class="card" id="briefing"><h2>{heading}: {esc(v.get("title"))}</h2>'
        f'<p class="muted">{esc(v.get("period_start"))} - {esc(v.get("period_end"))} · '
        f"{link(url('events', b.id), 'the event')}</p>"
        f'<div class="body">{markdown(str(v.get("body", "")))}</div>'
        + (f"<h3>Highlights</h3><ul>{highlights}</ul>" if highlights else "")
        + f"<h3>Based on</h3>{_evidence(st, list(v.get('based_on') or []))}</div>"
    )


def _open_risks(st: ConsoleState, team: str, cited: set[str]) -> list[IndexedEvent]:
    now = datetime.now(UTC)
    newest: dict[tuple[str, str], IndexedEvent] = {}
    for r in st.index.insights("risks"):  # newest first
        when = _parse_time(r.time)
        recent = when is not None and now - when <= st.settings.open_risk_window
        if not (r.id in cited or (recent and _in_scope(st, team, r))):
            continue
        newest.setdefault((str(r.value.get("kind")), r.subject), r)
    return sorted(newest.values(),
                  key=lambda r: (_SEVERITY.get(str(r.value.get("severity")), 9), r.time))


async def team_page(request: Request) -> Response:
    st = console_state(request)
    team = request.path_params["team"]
    today = datetime.now(UTC).date().isoformat()
    briefing = next(
        (b for b in st.index.insights("briefings") if b.value.get("audience") == team), None
    )
    cited = set(briefing.value.get("based_on") or []) if briefing else set()
    risks = _open_risks(st, team, cited)
    risk_cards = "".join(
        f'<div class="card risk" data-risk="{esc(r.id)}">'
        f'<h3><span class="sev-{esc(r.value.get("severity"))}">'
        f'{esc(str(r.value.get("severity")).upper())}</span> {esc(r.value.get("title"))}</h3>'
        f'<p class="muted">{esc(r.value.get("kind"))} · {esc(r.subject)} · detected '
        f"{esc(r.time)} by {esc(r.value.get('meta', {}).get('source'))}</p>"
        f"<p>{esc(r.value.get('summary'))}</p>"
        + (f"<p><b>Recommendation:</b> {esc(r.value.get('recommendation'))}</p>"
           if r.value.get("recommendation") else "")
        + f"<h4>Evidence</h4>{_evidence(st, list(r.value.get('based_on') or []))}</div>"
        for r in risks
    ) or '<p class="muted">No open risks.</p>'
    activity = [a for a in st.index.insights("activity") if _in_scope(st, team, a)][:20]
    act_rows = [
        [esc(a.value.get("entity")),
         esc(f"{str(a.value.get('period_start'))[:16]} - {str(a.value.get('period_end'))[:16]}"),
         esc(a.value.get("summary")),
         esc(", ".join(f"{k}: {v}" for k, v in sorted((a.value.get("counts") or {}).items()))),
         link(url("events", a.id), "event")]
        for a in activity
    ]
    body = (
        _briefing_html(st, briefing, today)
        + f'<h2>Open risks ({len(risks)})</h2><div id="risks">{risk_cards}</div>'
        + "<h2>Activity</h2>"
        + table(["entity", "period", "summary", "counts", ""], act_rows, id_="activity")
    )
    return html_page(request, f"Team {team}", body)


async def event_page(request: Request) -> Response:
    st = console_state(request)
    event_id = request.path_params["event_id"]
    e = st.index.find(event_id)
    if e is None:
        body = (
            f"<p class=bad>Event <code>{esc(event_id)}</code> is not among the "
            f"{st.index.size():,} events indexed from "
            f"{esc(', '.join(st.index.topics))}.</p><p class=muted>"
            + ("The index has read every topic to its end." if st.index.caught_up()
               else "The index is still reading; try again in a moment.")
            + " Add the topic that holds it to AGENTSTREAM_CONSOLE_EVIDENCE_TOPICS.</p>"
        )
        return html_page(request, "Event not found", body, status=404)
    cited_by = [
        i for kind in ("briefings", "risks", "activity") for i in st.index.insights(kind)
        if event_id in (i.value.get("based_on") or [])
    ]
    based_on = list(e.value.get("based_on") or [])
    body = (
        f'<div class="card" id="event"><p><b>{esc(e.type)}</b> · subject '
        f"<code>{esc(e.subject)}</code> · {esc(e.time)}</p>"
        f"<p class=muted>{esc(e.topic)}[{e.partition}]@{e.offset} · key {esc(e.key)} · source "
        f"{esc(e.value.get('meta', {}).get('source'))}</p>{pre_json(e.value)}</div>"
        + (f"<h2>Based on</h2>{_evidence(st, based_on)}" if based_on else "")
        + "<h2>Cited by</h2>"
        + table(["type", "title", "at"], [
            [esc(c.type.rsplit(".", 1)[-1]), link(url("events", c.id),
             c.value.get("title") or c.value.get("summary") or c.id), esc(c.time)]
            for c in cited_by], empty="no insight cites it")
    )
    return html_page(request, f"Event {event_id}", body)
