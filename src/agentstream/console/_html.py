"""Server-rendered HTML: one layout and a few escaping helpers (no template engine needed).

Every value from Kafka or an agent goes through ``esc`` (or markdown-it with raw HTML disabled for
briefing bodies), so an event cannot inject markup into the page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt

__all__ = ["esc", "layout", "link", "markdown", "pre_json", "table", "url"]

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False})

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;
align-items:center}
header a{color:#d6e4f5;text-decoration:none}header b{margin-right:1rem}
main{padding:1rem 1.4rem;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:.4rem 0 1.2rem}
th,td{border:1px solid #dde1e6;padding:.3rem .5rem;text-align:left;vertical-align:top;
font-size:.9rem}th{background:#eef1f4}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#fff;border:1px solid #dde1e6;padding:.6rem;overflow:auto;white-space:pre-wrap}
.card{background:#fff;border:1px solid #dde1e6;padding:.8rem 1rem;margin:.6rem 0}
.sev-critical,.sev-high{color:#a4161a;font-weight:bold}.sev-medium{color:#b36b00}
.muted{color:#6b7683}.ok{color:#1b7f3b}.bad{color:#a4161a}
.flash{background:#e6f4ea;border:1px solid #9bd3ae;padding:.5rem .8rem;margin:.5rem 0}
.error{background:#fdecea;border:1px solid #f3a7a1;padding:.5rem .8rem;margin:.5rem 0}
button{cursor:pointer}
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def url(*parts: str, **query: str) -> str:
    path = "/" + "/".join(quote(p, safe="") for p in parts)
    if query:
        path += "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
    return path


def link(href: str, text: Any, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return f'<a href="{esc(href)}"{extra}>{esc(text)}</a>'


def markdown(text: str) -> str:
    return str(_MD.render(text or ""))


def pre_json(value: Any) -> str:
    return f"<pre>{esc(json.dumps(value, indent=2, ensure_ascii=False, default=str))}</pre>"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str = "nothing yet",
    id_: str | None = None,
) -> str:
    """``rows`` hold HTML already escaped by the caller (cells are often links)."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{esc(empty)}</td></tr>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    ident = f' id="{esc(id_)}"' if id_ else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def layout(title: str, body: str, *, refresh: int | None = None, script: str = "") -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    nav = " ".join(
        link(h, t) for h, t in (("/", "Topology"), ("/topics", "Topics"), ("/teams", "Teams"))
    )
    js = f"<script>{script}</script>" if script else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)} · AgentStream</title>{meta}<style>{_CSS}</style></head>"
        f"<body><header><b>AgentStream</b>{nav}</header><main><h1>{esc(title)}</h1>{body}</main>"
        f"{js}</body></html>"
    )
