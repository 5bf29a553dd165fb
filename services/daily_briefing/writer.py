"""Evidence → prompt → the model's two lists → a Markdown briefing that cites event ids.

The model sees numbered evidence (``[3] build ci failed on ...``) and answers JSON:
``{"attention": [{"text": "...", "cites": [3, 5]}], "went_well": [...]}``. Citations are mapped
back to event ids here; a number that names no evidence item is dropped, so a briefing never
cites an event that was not gathered. Without an endpoint (``agentstream.llm`` is offline) a
deterministic writer builds the same JSON from the evidence.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["SYSTEM", "compose", "evidence_list", "offline_answer", "parse_answer", "prompt"]

_ATTENTION = ("memory:overloaded", "memory:failing_build")  # team-memory items that need it

SYSTEM = (
    "You write an engineering manager's daily team briefing. Use only the numbered evidence. "
    'Answer with JSON: {"attention": [{"text": str, "cites": [int]}], '
    '"went_well": [{"text": str, "cites": [int]}]}. At most 6 items per list, one '
    "sentence each, most urgent first; every item cites the evidence numbers it rests on."
)


def evidence_list(ev: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence in prompt order: risks, the team's state (team-memory), activity, then what
    went well."""
    return [*ev.get("risks", []), *ev.get("team_state", []), *ev.get("activity", []),
            *ev.get("went_well", [])]


def prompt(ev: dict[str, Any]) -> str:
    def day(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%a %d %b %Y")

    lines = [f"Team {ev['team']}, {day(ev['start'])} to {day(ev['end'])}.", "Evidence:"]
    for n, item in enumerate(evidence_list(ev), start=1):
        sev = f" ({item['severity']})" if item.get("severity") else ""
        lines.append(f"[{n}] {item['kind']}{sev}: {item['text']}")
    return "\n".join(lines)


def offline_answer(ev: dict[str, Any]) -> dict[str, Any]:
    """What the deterministic offline writer answers: risks, overloaded people and failing
    builds need attention; merges, approvals and quiet activity went well."""
    items = evidence_list(ev)
    attention, well = [], []
    for n, item in enumerate(items, start=1):
        kind = item["kind"]
        if (kind.startswith("risk:") or kind in _ATTENTION) and len(attention) < 6:
            attention.append({"text": item["text"].split(". ")[0], "cites": [n]})
        elif (item["kind"] in ("PullRequestMerged", "ReviewSubmitted") and len(well) < 6) or (
            item["kind"] == "activity" and len(well) < 6
        ):
            well.append({"text": item["text"], "cites": [n]})
    return {"attention": attention, "went_well": well}


def _section(rows: list[dict[str, Any]], items: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    lines, used = [], set()
    for row in rows:
        ids = []
        for c in row.get("cites") or []:
            if isinstance(c, int) and 1 <= c <= len(items):
                ids.append(items[c - 1]["id"])
        if not ids or not str(row.get("text", "")).strip():
            continue  # an uncited claim is not reported
        used.update(ids)
        refs = ", ".join(f"`{i}`" for i in dict.fromkeys(ids))
        lines.append(f"{str(row['text']).strip()} — {refs}")
    return lines, used


def compose(ev: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The briefing: title, Markdown body, the two lists and the event ids it cites."""
    items = evidence_list(ev)
    attention, used_a = _section(list(answer.get("attention") or []), items)
    well, used_w = _section(list(answer.get("went_well") or []), items)
    day = datetime.fromtimestamp(ev["end"] / 1000, UTC).strftime("%a %d %b")
    title = f"{ev['team']} briefing, {day}: {len(attention)} thing(s) need attention"
    body = [f"# {title}", "", "## What needs attention"]
    body += [f"- {x}" for x in attention] or ["- Nothing stands out."]
    body += ["", "## What went well"]
    body += [f"- {x}" for x in well] or ["- Nothing recorded."]
    cited = [i["id"] for i in items if i["id"] in used_a | used_w]
    body += ["", f"_Cites {len(cited)} event(s); ids in backticks._"]
    return {
        "title": title,
        "body": "\n".join(body),
        "attention": attention,
        "went_well": well,
        "based_on": list(dict.fromkeys(cited)),
    }


def parse_answer(text: str) -> dict[str, Any]:
    """The model's JSON (tolerating a fenced block); ``ValueError`` when it is not the shape."""
    t = text.strip()
    if t.startswith("```"):
        t = t.strip("`").split("\n", 1)[1] if "\n" in t else t
        t = t.rsplit("```", 1)[0]
    doc = json.loads(t)
    if not isinstance(doc, dict) or not isinstance(doc.get("attention", []), list):
        raise ValueError(
            f"briefing answer is not {{attention: [...], went_well: [...]}}: {t[:200]}"
        )
    return doc
