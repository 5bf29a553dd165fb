"""Operator pages: topology, one agent (metrics, dead letters, replay), topics and live tails."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from agentstream.console._access import check_csrf, csrf_token, with_csrf_cookie
from agentstream.console._html import esc, layout, link, table, url
from agentstream.console._scrape import AgentMetrics
from agentstream.console._state import ConsoleState
from agentstream.console._tail import TopicTail, UnknownTopicError
from agentstream.ops.dlq import DeadLetterReadError, ReplayError

__all__ = [
    "agent_page",
    "console_state",
    "html_page",
    "overview",
    "replay",
    "tail_page",
    "tail_stream",
    "topics_page",
]


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def html_page(request: Request, title: str, body: str, *, status: int = 200, **kw: Any) -> Response:
    csrf_token(request)  # every page hands the browser its CSRF cookie
    return with_csrf_cookie(request, HTMLResponse(layout(title, body, **kw), status_code=status))


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return '<span class="muted">-</span>'
    return f"{value:,.{digits}f}"


def _types(types: tuple[str, ...]) -> str:
    return esc(", ".join(t.rsplit(".", 1)[-1] for t in types) or "any")


def _subs(subs: dict[str, tuple[str, ...]]) -> str:
    return "<br>".join(
        f"{link(url('topics', t, 'tail'), t)} <span class=muted>({_types(ts)})</span>"
        for t, ts in sorted(subs.items())
    ) or '<span class="muted">none</span>'


def _versions(a: Any) -> str:
    """The version, or every version live at once (a rolling upgrade in progress)."""
    live = a.live_versions
    if len(live) > 1:
        return esc(" + ".join(live)) + ' <span class="muted">(rolling upgrade)</span>'
    return esc(live[0] if live else a.version)


async def overview(request: Request) -> Response:
    st = console_state(request)
    agents = await st.topology()
    metrics, targets = await st.metrics()
    rows = []
    flows: dict[str, dict[str, set[str]]] = {}
    for a in agents:
        scraped = metrics.get(a.name)
        m = scraped or AgentMetrics()
        rows.append([
            link(url("agents", a.name), a.name, data_agent=a.name),
            _versions(a),
            f'<span class="{"ok" if a.live_instances else "bad"}">{len(a.live_instances)}</span>'
            + (f' <span class=muted>(+{len(a.stale_instances)} stale)</span>'
               if a.stale_instances else ""),
            _subs(a.consumes), _subs(a.emits),
            # "-": no ops endpoint scraped reports this agent (none configured or unreachable).
            *((_num(m.in_rate, 2), _num(m.out_rate, 2), _num(m.total_lag), _num(m.total_dead))
              if scraped else (_num(None),) * 4),
        ])
        for t, types in a.consumes.items():
            f = flows.setdefault(t, {"in": set(), "out": set(), "types": set()})
            f["in"].add(a.name)
            f["types"].update(types)
        for t, types in a.emits.items():
            f = flows.setdefault(t, {"in": set(), "out": set(), "types": set()})
            f["out"].add(a.name)
            f["types"].update(types)
    agent_table = table(
        ["agent", "version", "live instances", "consumes", "emits", "in/s", "out/s", "lag",
         "dead letters"],
        rows, empty="no agent has announced itself on " + st.descriptor_topic(), id_="agents",
    )
    flow_rows = [
        [link(url("topics", t, "tail"), t),
         ", ".join(link(url("agents", n), n) for n in sorted(f["out"])) or "-",
         ", ".join(link(url("agents", n), n) for n in sorted(f["in"])) or "-",
         _types(tuple(sorted(f["types"])))]
        for t, f in sorted(flows.items())
    ]
    body = (
        f"<p class=muted>Agents announced on <code>{esc(st.descriptor_topic())}</code>; metrics "
        f"from {len(targets)} ops endpoint(s). Refreshes every 5 s.</p>"
        f"{agent_table}<h2>Flow</h2>"
        + table(["topic", "written by", "read by", "event types"], flow_rows, id_="flows")
        + _targets_table(targets)
    )
    return html_page(request, "Topology", body, refresh=5)


def _targets_table(targets: list[Any]) -> str:
    rows = [
        [esc(t.url), f'<span class="{"ok" if t.ok else "bad"}">{esc(t.detail)}</span>',
         {True: "ready", False: "not ready", None: "-"}[t.ready]]
        for t in targets
    ]
    return "<h2>Ops endpoints</h2>" + table(
        ["endpoint", "scrape", "/readyz"], rows,
        empty="none configured (AGENTSTREAM_CONSOLE_OPS_URLS or AGENTSTREAM_CONSOLE_OPS_PORT)",
    )


async def agent_page(request: Request) -> Response:
    st = console_state(request)
    name = request.path_params["name"]
    view = await st.agent(name)
    metrics, _ = await st.metrics()
    m = metrics.get(name, AgentMetrics())
    parts: list[str] = []
    for key, css in (("replayed", "flash"), ("error", "error")):
        if request.query_params.get(key):
            parts.append(f'<div class="{css}" id="{key}">{esc(request.query_params[key])}</div>')
    if view is None:
        parts.append(f"<p class=bad>No descriptor for {esc(name)} on "
                     f"<code>{esc(st.descriptor_topic())}</code>.</p>")
    else:
        parts.append(
            f"<p>version <b>{_versions(view)}</b> · live: "
            f"{esc(', '.join(view.live_instances) or 'none')} · stale: "
            f"{esc(', '.join(view.stale_instances) or 'none')}</p>"
            f"<p class=muted>{esc(view.description or '')}</p>"
            + table(["consumes", "emits"], [[_subs(view.consumes), _subs(view.emits)]])
        )
    io_rows = [["in", esc(t), esc(ty.rsplit(".", 1)[-1]), _num(v)]
               for (t, ty), v in sorted(m.events_in.items())]
    io_rows += [["out", esc(t), esc(ty.rsplit(".", 1)[-1]), _num(v)]
                for (t, ty), v in sorted(m.events_out.items())]
    latency = m.mean_latency
    parts.append(
        "<h2>Metrics</h2>"
        f"<p>in/s {_num(m.in_rate, 2)} · out/s {_num(m.out_rate, 2)} · in flight "
        f"{_num(m.in_flight)} · retries {_num(m.retries)} · mean handler latency "
        f"{_num(latency * 1000 if latency is not None else None, 1)} ms · dead letters "
        f"{esc(', '.join(f'{k}: {v:.0f}' for k, v in sorted(m.dead_letters.items())) or '0')}</p>"
        + table(["", "topic", "type", "events"], io_rows, id_="io")
        + table(["topic", "partition", "lag"],
                [[esc(t), esc(p), _num(v)] for (t, p), v in sorted(m.lag.items())], id_="lag")
    )
    parts.append(await _dead_letter_section(request, st, name))
    return html_page(request, f"Agent {name}", "".join(parts))


async def _dead_letter_section(request: Request, st: ConsoleState, name: str) -> str:
    try:
        entries = await st.dead_letters(name)
    except DeadLetterReadError as exc:
        return f"<h2>Dead letters</h2><p class=muted>{esc(exc)}</p>"
    token = csrf_token(request)
    rows = []
    for e in reversed(entries):
        d = e.letter
        form = (
            f'<form method="post" action="{esc(url("agents", name, "dlq", "replay"))}">'
            f'<input type="hidden" name="csrf" value="{esc(token)}">'
            f'<input type="hidden" name="ref" value="{esc(e.ref)}">'
            f'<button type="submit" data-replay="{esc(e.ref)}">Replay</button></form>'
        )
        rows.append([
            esc(e.ref), esc(f"{d.last_failure_at:%Y-%m-%d %H:%M:%S}"), esc(d.stage.value),
            esc(d.event_type or "-"),
            f"<b>{esc(d.error_type)}</b>: {esc(d.error_message[:300])}",
            esc(f"{d.original_topic}[{d.original_partition}]@{d.original_offset}"),
            esc(d.attempts), form,
        ])
    return (
        f"<h2>Dead letters ({len(entries)})</h2><p class=muted>Replay writes the original "
        "record back to its topic; the agent handles each dead letter once.</p>"
        + table(["ref", "last failure (UTC)", "stage", "event type", "reason", "original",
                 "attempts", ""], rows, empty="no dead letters", id_="dead-letters")
    )


async def replay(request: Request) -> Response:
    st = console_state(request)
    name = request.path_params["name"]
    form = await request.form()
    problem = check_csrf(request, form)
    if problem is not None:
        return Response(problem + "\n", status_code=403, media_type="text/plain")
    refs = [str(r) for r in form.getlist("ref") if str(r)]
    target = url("agents", name)
    if not refs:
        return RedirectResponse(target + "?error=no+dead+letter+chosen", status_code=303)
    try:
        done = await st.replay(name, refs)
    except (ReplayError, DeadLetterReadError) as exc:
        return RedirectResponse(url("agents", name, error=str(exc)), status_code=303)
    if not done:
        return RedirectResponse(url("agents", name, error=f"no dead letter {', '.join(refs)}"),
                                status_code=303)
    msg = "replayed " + ", ".join(f"{ref} -> {topic}" for ref, topic in done)
    return RedirectResponse(url("agents", name, replayed=msg), status_code=303)


async def topics_page(request: Request) -> Response:
    st = console_state(request)
    topics = await st.topics()
    agents = await st.topology()
    rows = []
    for t, n in sorted(topics.items()):
        readers = [a.name for a in agents if t in a.consumes]
        writers = [a.name for a in agents if t in a.emits]
        rows.append([link(url("topics", t, "tail"), t), esc(n),
                     esc(", ".join(writers) or "-"), esc(", ".join(readers) or "-")])
    return html_page(request, "Topics",
                 table(["topic", "partitions", "written by", "read by"], rows, id_="topics"))


_TAIL_JS = """
const tbody = document.querySelector('#tail tbody');
const status = document.getElementById('status');
const es = new EventSource(document.getElementById('tail').dataset.stream);
es.onopen = () => { status.textContent = 'live'; };
es.onerror = () => { status.textContent = 'reconnecting…'; };
es.onmessage = (e) => {
  const d = JSON.parse(e.data);
  const tr = document.createElement('tr');
  const cells = [d.partition + '@' + d.offset, d.time || '', d.type || d.error || '',
                 d.key || ''];
  for (const c of cells) {
    const td = document.createElement('td'); td.textContent = c; tr.append(td);
  }
  const td = document.createElement('td');
  if (d.id) {
    const a = document.createElement('a');
    a.href = '/events/' + encodeURIComponent(d.id); a.textContent = d.id; td.append(a);
  }
  tr.append(td);
  const pre = document.createElement('td'); pre.textContent = JSON.stringify(d.value || null);
  pre.className = 'value'; tr.append(pre);
  tbody.prepend(tr);
  while (tbody.rows.length > 500) tbody.deleteRow(-1);
};
"""


async def tail_page(request: Request) -> Response:
    topic = request.path_params["topic"]
    start = request.query_params.get("from", "end")
    stream = url("topics", topic, "stream", **{"from": start})
    other = "beginning" if start == "end" else "end"
    body = (
        f"<p>Decoded records of <code>{esc(topic)}</code> as they arrive (from {esc(start)}; "
        f"{link(url('topics', topic, 'tail', **{'from': other}), 'from ' + other)}). "
        f"Status: <span id=status>connecting…</span></p>"
        + f'<table id="tail" data-stream="{esc(stream)}"><thead><tr><th>partition@offset</th>'
        "<th>time</th><th>type</th><th>key</th><th>id</th><th>value</th></tr></thead>"
        "<tbody></tbody></table>"
    )
    return html_page(request, f"Tail {topic}", body, script=_TAIL_JS)


async def tail_stream(request: Request) -> Response:
    st = console_state(request)
    tail = TopicTail(st.kafka, st.serde, request.path_params["topic"],
                     from_beginning=request.query_params.get("from") == "beginning",
                     timeout=st.timeout)
    try:
        await tail.open()
    except (UnknownTopicError, KafkaException, TimeoutError) as exc:
        tail.close()
        return JSONResponse({"error": str(exc)}, status_code=404)
    return StreamingResponse(
        tail.events(), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        background=BackgroundTask(tail.close),
    )
