"""What a question is about, and the evidence that answers it.

- "what is blocking payments?" → the repository (``payments`` → ``acme/payments``): open risks
  on it from ``insights.risks``, failing builds and messages about it from retrieval.
- "who could review #42?" / "acme/payments#42" → the pull request, its author, and the team's
  review graph: who reviewed in that repository, and how many reviews each has pending.

Every evidence item keeps its event id; answers cite those ids.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

from agentstream.config import KafkaSettings
from services.assistant.settings import AssistantSettings

__all__ = ["Question", "gather", "parse_question"]

log = logging.getLogger("services.assistant")
_PR = re.compile(r"(?:(?P<repo>[\w.-]+/[\w.-]+))?#(?P<num>\d+)")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>\s*")
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Question:
    text: str
    intent: str  # "review" | "blocking" | "general"
    repo: str | None
    number: int | None


def parse_question(raw: str, repos: list[str]) -> Question:
    text = _MENTION.sub("", raw).strip()
    lower = text.lower()
    repo, number = None, None
    m = _PR.search(text)
    if m:
        number = int(m.group("num"))
        repo = m.group("repo")
    if repo is None:
        for r in repos:
            if r.lower() in lower or re.search(
                rf"\b{re.escape(r.split('/')[-1].lower())}\b", lower
            ):
                repo = r
                break
    if "review" in lower:
        intent = "review"
    elif any(w in lower for w in ("block", "stuck", "risk", "wrong", "failing")):
        intent = "blocking"
    else:
        intent = "general"
    return Question(text, intent, repo, number)


def _search(url: str, q: str, **filters: Any) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"q": q, **{k: v for k, v in filters.items() if v}}, doseq=True)
    with urllib.request.urlopen(f"{url.rstrip('/')}/search?{query}", timeout=10) as r:
        hits: list[dict[str, Any]] = json.loads(r.read())["hits"]
    return hits


def _hit(h: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": h["event_id"],
        "kind": h.get("type", "event"),
        "text": h.get("text", ""),
        "people": h.get("people", []),
    }


def _risks(records: list[Any], repo: str | None) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], Any] = {}
    for r in records:
        if not getattr(r.meta, "type", "").endswith("RiskDetected"):
            continue
        if repo and not str(r.meta.subject).startswith(repo):
            continue
        latest[(r.meta.subject, r.kind)] = r
    out = [
        {
            "id": str(r.meta.id),
            "kind": f"risk:{r.kind}",
            "severity": str(getattr(r.severity, "value", r.severity)),
            "text": f"{r.title}. {r.summary}",
        }
        for r in latest.values()
    ]
    out.sort(key=lambda i: _SEVERITY.get(i["severity"], 9))
    return out


def _review_graph(s: AssistantSettings, q: Question) -> dict[str, Any]:
    """Who works on the repository (reviewed or authored there), how many reviews each person
    has pending (requested and not yet submitted), and the pull request's author."""
    url = s.indexer_url or ""
    done = _search(url, "reviewed approved", type=["ReviewSubmitted"], limit=200)
    asked = _search(url, "asked to review", type=["ReviewRequested"], limit=200)
    authored = _search(
        url, "opened pull request", type=["PullRequestOpened"], repo=q.repo, limit=100
    )
    submitted = {(h["text"].split(" reviewed ", 1)[0], h.get("subject")) for h in done}
    reviews_here: Counter[str] = Counter(
        h["text"].split(" reviewed ", 1)[0] for h in done if h.get("repo") == q.repo
    )
    pending: Counter[str] = Counter()
    for h in asked:
        m = re.match(r".+? asked (\S+) to review (\S+)", h["text"])
        if m and (m.group(1), m.group(2)) not in submitted:
            pending[m.group(1)] += 1
    authors_here: Counter[str] = Counter(h["text"].split(" opened ", 1)[0] for h in authored)
    author = None
    opened = None
    for h in authored:
        if q.number is not None and h.get("subject") == f"{q.repo}#{q.number}":
            author, opened = h["text"].split(" opened ", 1)[0], h
    works_here = set(reviews_here) | set(authors_here)
    evidence = [_hit(h) for h in ([opened] if opened else [])]
    evidence += [_hit(h) for h in done if h.get("repo") == q.repo][:3]
    evidence += [_hit(h) for h in authored if h is not opened][:4]
    evidence += [_hit(h) for h in asked][:3]
    return {
        "reviewers": dict(reviews_here),
        "authored": dict(authors_here),
        "pending": {p: pending.get(p, 0) for p in works_here | set(pending)},
        "works_here": sorted(works_here),
        "author": author,
        "evidence": evidence,
    }


def _memory(url: str, store: str, key: str) -> dict[str, Any] | None:
    """A team-memory profile over its HTTP endpoint (``GET /memory/<store>/<key>``)."""
    path = f"{url.rstrip('/')}/memory/{store}/{urllib.parse.quote(key, safe='/')}"
    try:
        with urllib.request.urlopen(path, timeout=10) as r:
            doc = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    value = doc.get("value")
    return value if isinstance(value, dict) else None


def _memory_graph(s: AssistantSettings, q: Question) -> dict[str, Any] | None:
    """The review graph from team-memory: the repository's contributors, the pull request's
    author and everyone's pending review requests (each citing its event)."""
    url = s.team_memory_url or ""
    repo = _memory(url, "repos", q.repo or "")
    if repo is None:
        return None
    pr_key = f"{q.repo}#{q.number}"
    pr = (repo.get("open_prs") or {}).get(pr_key) or {}
    author = pr.get("author")
    evidence = []
    if pr.get("opened_id"):
        evidence.append({"id": str(pr["opened_id"]), "kind": "PullRequestOpened",
                         "text": f"{author} opened {pr_key} '{pr.get('title')}'"})  # fmt: skip
    pending: dict[str, int] = {}
    reviewed: dict[str, int] = {}
    for person in repo.get("contributors") or []:
        prof = _memory(url, "people", person) or {}
        waiting = prof.get("pending_reviews") or {}
        pending[person] = len(waiting)
        reviewed[person] = int(prof.get("reviews_given") or 0)
        for other_pr, request_id in list(waiting.items())[:3]:
            evidence.append({"id": str(request_id), "kind": "ReviewRequested",
                             "text": f"{person} has a review of {other_pr} pending"})  # fmt: skip
    return {"reviewers": reviewed, "authored": {}, "pending": pending,
            "works_here": sorted(pending), "author": author, "evidence": evidence,
            "from": "team-memory"}  # fmt: skip


def gather(
    s: AssistantSettings, kafka: KafkaSettings, q: Question, read_topic: Any
) -> dict[str, Any]:
    """Evidence for ``q`` (plain JSON, checkpointed by the workflow)."""
    out: dict[str, Any] = {
        "question": q.text,
        "intent": q.intent,
        "repo": q.repo,
        "number": q.number,
        "evidence": [],
        "graph": None,
    }
    risks = _risks(read_topic(kafka, s.risks_topic), q.repo)
    if q.intent != "review":
        out["evidence"].extend(risks[: s.max_sources])
    if s.indexer_url:
        try:
            if q.intent == "review":
                graph = _memory_graph(s, q) if s.team_memory_url and q.repo else None
                out["graph"] = graph or _review_graph(s, q)
                out["evidence"].extend(out["graph"].pop("evidence"))
            else:
                hits = _search(
                    s.indexer_url,
                    q.text,
                    repo=q.repo,
                    limit=s.max_sources,
                    type=["BuildFailed", "MessagePosted", "ReviewRequested"],
                )
                if q.repo:  # chat is keyed by channel, not repository: search it by meaning
                    hits += _search(
                        s.indexer_url, f"{q.text} {q.repo}", type=["MessagePosted"], limit=3
                    )
                seen = {e["id"] for e in out["evidence"]}
                out["evidence"].extend(_hit(h) for h in hits if h["event_id"] not in seen)
        except OSError as exc:
            log.warning("indexer search failed (%s): answering from insights only", exc)
    uniq: dict[str, dict[str, Any]] = {}
    for e in out["evidence"]:
        uniq.setdefault(e["id"], e)
    out["evidence"] = list(uniq.values())[: 2 * s.max_sources]
    return out
