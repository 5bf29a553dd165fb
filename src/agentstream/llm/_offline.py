"""The deterministic offline model and embedder, used when no endpoint is configured.

The offline model is *extractive*: it writes nothing that is not in the prompt. For structured
output it fills each field from the evidence — a ``name: value`` line (or JSON ``"name":
"value"``) in the prompt for that field, an enum symbol the prompt mentions, the first number or
ISO timestamp, else the leading sentences of the last user message — and for free text it
answers with the leading sentences of the last user message. The same prompt always gives the
same answer, so tests and demos are reproducible without a model.

The offline embedder hashes word unigrams and character 3-grams into a signed, L2-normalised
vector (384 dimensions by default): texts sharing words are near, others nearly orthogonal.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["offline_completion", "offline_embedding", "offline_structured"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_WORD = re.compile(r"\w+")


def _last_user(messages: Sequence[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return str(m.get("content") or "")
    return str(messages[-1].get("content") or "") if messages else ""


def _lead(text: str, sentences: int, limit: int) -> str:
    flat = " ".join(text.split())
    out = " ".join(_SENTENCE.split(flat)[:sentences])
    return out[:limit].rstrip()


def offline_completion(messages: Sequence[dict[str, Any]]) -> str:
    """The leading sentences of the last user message (at most 600 characters)."""
    return _lead(_last_user(messages), 3, 600) or "(empty prompt)"


def _labelled(evidence: str, name: str) -> str | None:
    """The value given for ``name`` in the evidence: ``name: value`` or ``"name": "value"``."""
    pattern = re.compile(
        rf'(?im)^\s*["\']?{re.escape(name)}["\']?\s*[:=]\s*"?(?P<v>[^"\n]+?)"?\s*,?\s*$'
    )
    m = pattern.search(evidence)
    return m["v"].strip() if m else None


def offline_structured(messages: Sequence[dict[str, Any]], schema: dict[str, Any]) -> str:
    """A JSON object for ``schema`` (a JSON Schema object) filled from the evidence in the
    user messages (a repair request keeps the original prompt first)."""
    evidence = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    return json.dumps(_fill(schema, evidence or _last_user(messages), ""), ensure_ascii=False)


_LABEL = re.compile(r"^\s*[\"']?[\w-]+[\"']?\s*[:=]")


def _prose(evidence: str) -> str:
    """The evidence without its ``name: value`` lines (those fill their own fields)."""
    lines = [ln for ln in evidence.splitlines() if not _LABEL.match(ln)]
    return "\n".join(lines) or evidence


def _fill(  # noqa: PLR0911, PLR0912, C901 - one branch per JSON type
    schema: dict[str, Any], evidence: str, name: str
) -> Any:
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        if not branches:
            return None
        labelled = _labelled(evidence, name) if name else None
        if labelled is None and name not in ("title", "summary"):
            return None  # optional and not in evidence: leave it empty
        return _fill(branches[0], evidence, name)
    kind = schema.get("type")
    labelled = _labelled(evidence, name) if name else None
    if kind == "object":
        props = schema.get("properties")
        if not props:
            return {}
        return {k: _fill(v, evidence, k) for k, v in props.items()}
    if "enum" in schema:
        symbols = list(schema["enum"])
        if labelled is not None:
            for s in symbols:
                if s.lower() == labelled.lower():
                    return s
        low = evidence.lower()
        mentioned = [s for s in symbols if re.search(rf"\b{re.escape(s.lower())}\b", low)]
        return mentioned[0] if mentioned else symbols[0]
    if kind == "string":
        if schema.get("format") == "date-time":
            m = _ISO.search(labelled or evidence)
            return m.group(0) if m else "1970-01-01T00:00:00Z"
        if labelled is not None:
            return labelled
        if name == "title":
            return _lead(_prose(evidence), 1, 120)
        return _lead(_prose(evidence), 3, 600)
    if kind in ("integer", "number"):
        m = _NUMBER.search(labelled or "") or (None if labelled else _NUMBER.search(evidence))
        if m is None:
            return 0
        value = float(m.group(0))
        if kind == "integer":
            return int(value)
        return min(1.0, max(0.0, value)) if name == "confidence" else value
    if kind == "boolean":
        return (labelled or "").lower() in ("true", "yes", "1")
    if kind == "array":
        if labelled is not None:
            return [x.strip() for x in labelled.strip("[]").split(",") if x.strip()]
        return []
    return None


def offline_embedding(text: str, dimensions: int = 384) -> list[float]:
    """Signed feature hashing of words and character 3-grams, L2-normalised."""
    vec = [0.0] * dimensions
    low = text.lower()
    features = _WORD.findall(low)
    squashed = " ".join(features)
    features += [squashed[i : i + 3] for i in range(max(0, len(squashed) - 2))]
    for feat in features:
        h = hashlib.blake2b(feat.encode(), digest_size=8).digest()
        idx = int.from_bytes(h[:4], "little") % dimensions
        vec[idx] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0:
        return vec
    return [v / norm for v in vec]
