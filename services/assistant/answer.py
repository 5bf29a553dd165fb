"""Evidence → an answer that cites its sources, from a model or the offline writer.

The model sees numbered evidence and answers ``{"answer": str, "cites": [int]}``; numbers that
name no evidence are dropped. The reply posted to Slack is the answer, then its sources (one
line per cited event: what it is and its id), so anyone can check what it stands on.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SYSTEM", "cited", "offline_answer", "parse", "prompt", "reply_text"]

SYSTEM = (
    "You are an engineering manager's assistant in Slack. Answer the question in at most three "
    "sentences using only the numbered evidence. Answer with JSON: "
    '{"answer": str, "cites": [int]} citing the evidence numbers you used.'
)


def prompt(ctx: dict[str, Any]) -> str:
    lines = [f"Question: {ctx['question']}", "Evidence:"]
    for n, e in enumerate(ctx["evidence"], start=1):
        lines.append(f"[{n}] {e['kind']}: {e['text']}")
    g = ctx.get("graph")
    if g:
        lines.append(f"Reviews done in this repository per person: {json.dumps(g['reviewers'])}")
        lines.append(f"Reviews pending per person: {json.dumps(g['pending'])}")
        if g.get("author"):
            lines.append(f"The pull request's author: {g['author']}")
    return "\n".join(lines)


def _review(ctx: dict[str, Any]) -> dict[str, Any]:
    """The least loaded people who work on the repository, never the author."""
    g = ctx.get("graph") or {}
    ev = ctx["evidence"]
    author = g.get("author")
    pending: dict[str, int] = g.get("pending", {})
    reviewed: dict[str, int] = g.get("reviewers", {})
    authored: dict[str, int] = g.get("authored", {})
    pool = [p for p in g.get("works_here", []) if p != author]
    candidates = sorted(
        pool, key=lambda p: (pending.get(p, 0), -reviewed.get(p, 0), -authored.get(p, 0), p)
    )
    pr = f"{ctx['repo']}#{ctx['number']}" if ctx.get("repo") else f"#{ctx.get('number')}"
    if not candidates:
        return {"answer": f"I found nobody else working on {ctx.get('repo') or pr}.", "cites": []}
    best = candidates[:2]

    def why(p: str) -> str:
        if g.get("from") == "team-memory":
            return (
                f"{p} (works on {ctx.get('repo')}, {reviewed.get(p, 0)} review(s) given, "
                f"{pending.get(p, 0)} pending)"
            )
        did = []
        if reviewed.get(p):
            did.append(f"{reviewed[p]} review(s)")
        if authored.get(p):
            did.append(f"{authored[p]} pull request(s)")
        return f"{p} ({' and '.join(did)} in {ctx.get('repo')}, {pending.get(p, 0)} pending)"

    text = f"For {pr} I would ask {' or '.join(why(p) for p in best)}."
    busiest = max(pending, key=lambda p: pending[p]) if pending else None
    if busiest and busiest not in best and pending[busiest] > 1:
        text += f" Not {busiest}: {pending[busiest]} reviews are already waiting on them."
    names = [*best, busiest or "", author or ""]
    cites = [n for n, e in enumerate(ev, start=1) if any(p and p in e["text"] for p in names)]
    return {"answer": text, "cites": cites[:6]}


def offline_answer(ctx: dict[str, Any]) -> dict[str, Any]:
    """Deterministic answer from the evidence alone (no model configured)."""
    if ctx["intent"] == "review":
        return _review(ctx)
    ev = ctx["evidence"]
    if not ev:
        return {"answer": "I found nothing recorded about that.", "cites": []}
    risks = [(n, e) for n, e in enumerate(ev, start=1) if e["kind"].startswith("risk:")]
    rest = [(n, e) for n, e in enumerate(ev, start=1) if not e["kind"].startswith("risk:")]
    picked = (risks[:3] + rest[:2]) if risks else rest[:3]
    about = f" on {ctx['repo']}" if ctx.get("repo") else ""
    lines = [e["text"].split(". ")[0] for _, e in picked]
    return {
        "answer": f"What stands out{about}: " + "; ".join(lines) + ".",
        "cites": [n for n, _ in picked],
    }


def parse(text: str) -> dict[str, Any]:
    t = text.strip()
    if t.startswith("```"):
        t = t.strip("`").split("\n", 1)[-1].rsplit("```", 1)[0]
    doc = json.loads(t)
    if not isinstance(doc, dict) or not isinstance(doc.get("answer"), str):
        raise ValueError(f"assistant answer is not {{answer: str, cites: [int]}}: {t[:200]}")
    return doc


def cited(ctx: dict[str, Any], answer: dict[str, Any]) -> list[dict[str, Any]]:
    ev = ctx["evidence"]
    nums = [c for c in answer.get("cites") or [] if isinstance(c, int) and 1 <= c <= len(ev)]
    return [ev[n - 1] for n in dict.fromkeys(nums)]


def reply_text(answer: dict[str, Any], sources: list[dict[str, Any]], answer_id: str) -> str:
    lines = [answer["answer"].strip()]
    if sources:
        lines.append("")
        lines.append("*Sources*")
        lines.extend(f"• {s['kind']}: {s['text'][:140]} (`{s['id']}`)" for s in sources)
    lines.append(f"_answer {answer_id}_")
    return "\n".join(lines)
