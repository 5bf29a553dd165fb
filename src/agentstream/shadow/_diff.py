"""The comparison of a shadow run's outputs with production's: pure functions over plain data.

Outputs are paired by the input that caused them (``meta.causation_id``) and their event type.
Within one (cause, type) group, outputs equal once the ignored fields are left out are *same*;
the rest are paired by entity (``meta.subject``), most similar first, and a pair is *changed*;
what is left is *only-production* or *only-shadow*. Pairing by cause rather than by event id
keeps the comparison right when the candidate emits more or fewer events for an input (event
ids derive from the emission's ordinal, so one extra output would shift every id after it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_IGNORE",
    "DiffKind",
    "DiffReport",
    "Difference",
    "Output",
    "TypeCounts",
    "diff_outputs",
    "mark_noise",
]

# Fields that differ between two runs of the same logic: the event id (derived from the emission
# ordinal) and the observation time (the clock of the run).
DEFAULT_IGNORE: tuple[str, ...] = ("meta.id", "meta.time")

DiffKind = Literal["changed", "only-production", "only-shadow"]
_KIND_ORDER = {"changed": 0, "only-production": 1, "only-shadow": 2}


@dataclass(frozen=True)
class Output:
    """One output of either side: where it was read, its event id and type, its cause, and its
    fields as JSON (``agentstream.schemas.to_json``). ``topic`` is the production topic name
    (a shadow topic is named by the topic it stands for). ``pending`` marks the payload of a
    durable timer that had not fired yet when it was read (``partition``/``offset`` are -1)."""

    event_type: str
    event_id: str
    causation_id: str | None
    topic: str
    partition: int
    offset: int
    fields: Mapping[str, Any]
    pending: bool = False

    @property
    def subject(self) -> str:
        meta = self.fields.get("meta")
        return str(meta.get("subject", "")) if isinstance(meta, Mapping) else ""

    def to_json(self, *, with_fields: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.event_id, "type": self.event_type, "causation_id": self.causation_id,
            "topic": self.topic, "partition": self.partition, "offset": self.offset,
            "subject": self.subject,
        }
        if self.pending:
            out["pending_timer"] = True
        if with_fields:
            out["fields"] = dict(self.fields)
        return out


@dataclass
class TypeCounts:
    """Outputs of one event type: same on both sides, changed, on one side only."""

    same: int = 0
    changed: int = 0
    only_production: int = 0
    only_shadow: int = 0
    noise: int | None = None  # differences a baseline run had too (None: no baseline)

    @property
    def differing(self) -> int:
        return self.changed + self.only_production + self.only_shadow

    def to_json(self) -> dict[str, int]:
        out = {"same": self.same, "changed": self.changed,
               "only_production": self.only_production, "only_shadow": self.only_shadow}
        if self.noise is not None:
            out["noise"] = self.noise
        return out


@dataclass(frozen=True)
class Difference:
    """One differing output (pair): ``changed_fields`` are dotted paths (changed only)."""

    kind: DiffKind
    event_type: str
    causation_id: str | None
    production: Output | None
    shadow: Output | None
    changed_fields: tuple[str, ...] = ()
    noise: bool = False  # a baseline run (production's version) differed the same way

    @property
    def subject(self) -> str:
        side = self.production or self.shadow
        return side.subject if side is not None else ""

    @property
    def signature(self) -> tuple[str, str, str, str]:
        """What a baseline's difference must share with this one to make it noise: event type,
        kind, cause and entity (ids and values may differ between runs)."""
        return (self.event_type, self.kind, self.causation_id or "", self.subject)

    def to_json(self, *, with_fields: bool) -> dict[str, Any]:
        return {
            "kind": self.kind, "type": self.event_type, "causation_id": self.causation_id,
            "subject": self.subject, "changed_fields": list(self.changed_fields),
            "noise": self.noise,
            "production": None if self.production is None
            else self.production.to_json(with_fields=with_fields),
            "shadow": None if self.shadow is None
            else self.shadow.to_json(with_fields=with_fields),
        }


@dataclass
class DiffReport:
    """Per event type counts and every difference, in a stable order (type, kind, entity,
    cause)."""

    counts: dict[str, TypeCounts] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    ignored: tuple[str, ...] = DEFAULT_IGNORE

    @property
    def identical(self) -> bool:
        return not self.differences

    @property
    def signal(self) -> list[Difference]:
        """The differences that are not noise (all of them without a baseline)."""
        return [d for d in self.differences if not d.noise]

    def by_kind(self, kind: DiffKind) -> list[Difference]:
        return [d for d in self.differences if d.kind == kind]

    def to_json(self, *, sample: int = 5) -> dict[str, Any]:
        """Counts, and every difference; the fields of the first ``sample`` per event type."""
        shown: dict[str, int] = {}
        diffs = []
        for d in self.differences:
            n = shown.get(d.event_type, 0)
            shown[d.event_type] = n + 1
            diffs.append(d.to_json(with_fields=n < sample))
        return {
            "identical": self.identical,
            "ignored_fields": list(self.ignored),
            "types": {t: c.to_json() for t, c in sorted(self.counts.items())},
            "differences": diffs,
        }


def _drop(fields: Mapping[str, Any], ignore: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(fields, sort_keys=True, default=str))
    for path in ignore:
        *parents, last = path.split(".")
        node: Any = out
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def changed_paths(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, ...]:
    """Dotted paths whose values differ between two JSON objects (lists compared whole)."""
    la, lb = _leaves(dict(a)), _leaves(dict(b))
    return tuple(sorted(p for p in la.keys() | lb.keys() if la.get(p) != lb.get(p)))


def _similarity(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    la, lb = _leaves(dict(a)), _leaves(dict(b))
    return sum(1 for p, v in la.items() if p in lb and lb[p] == v)


@dataclass
class _Side:
    out: Output
    norm: dict[str, Any]
    key: str  # canonical JSON of norm


def _side(o: Output, ignore: Sequence[str]) -> _Side:
    norm = _drop(o.fields, ignore)
    return _Side(o, norm, json.dumps(norm, sort_keys=True))


def _group(outputs: Iterable[Output], ignore: Sequence[str]
           ) -> dict[tuple[str, str], list[_Side]]:  # fmt: skip
    groups: dict[tuple[str, str], list[_Side]] = {}
    for o in sorted(outputs, key=lambda o: (o.topic, o.partition, o.offset, o.event_id)):
        groups.setdefault((o.event_type, o.causation_id or ""), []).append(_side(o, ignore))
    return groups


def _compare_group(
    etype: str, cause: str, prod: list[_Side], shad: list[_Side], counts: TypeCounts
) -> list[Difference]:
    # 1. Equal payloads are the same output, whatever their ids.
    rest_p: list[_Side] = []
    for p in prod:
        match = next((s for s in shad if s.key == p.key), None)
        if match is None:
            rest_p.append(p)
        else:
            shad.remove(match)
            counts.same += 1
    # 2. Pairs about the same entity, most similar first, are changed outputs.
    out: list[Difference] = []
    causation = cause or None
    left_p: list[_Side] = []
    for p in rest_p:
        candidates = [s for s in shad if s.out.subject == p.out.subject]
        if not candidates:
            left_p.append(p)
            continue
        best = max(candidates, key=lambda s: _similarity(p.norm, s.norm))
        shad.remove(best)
        counts.changed += 1
        out.append(Difference("changed", etype, causation, p.out, best.out,
                              changed_paths(p.norm, best.norm)))
    # 3. What is left exists on one side only.
    for p in left_p:
        counts.only_production += 1
        out.append(Difference("only-production", etype, causation, p.out, None))
    for s in shad:
        counts.only_shadow += 1
        out.append(Difference("only-shadow", etype, causation, None, s.out))
    return out


def mark_noise(report: DiffReport, baseline: DiffReport) -> DiffReport:
    """``report`` with every difference a baseline run also had marked as noise.

    The baseline is a shadow run of the production version itself over the same window: what it
    reports is not the candidate's doing (inputs handled in another order, a model's sampling,
    the wall clock). A candidate difference is noise when the baseline has one of the same event
    type, kind, cause and entity. Noise differences are listed after the others; counts keep
    them, with ``noise`` saying how many of them are.
    """
    seen = {d.signature for d in baseline.differences}
    marked = [dataclasses.replace(d, noise=d.signature in seen) for d in report.differences]
    counts = {t: dataclasses.replace(c, noise=0) for t, c in report.counts.items()}
    for d in marked:
        if d.noise:
            n = counts[d.event_type].noise or 0
            counts[d.event_type].noise = n + 1
    marked.sort(key=lambda d: (d.noise, d.event_type, _KIND_ORDER[d.kind], d.subject,
                               d.causation_id or ""))  # fmt: skip
    return DiffReport(counts=counts, differences=marked, ignored=report.ignored)


def diff_outputs(
    production: Iterable[Output],
    shadow: Iterable[Output],
    *,
    ignore: Sequence[str] = DEFAULT_IGNORE,
) -> DiffReport:
    """Compare the outputs of the two sides (see the module docstring)."""
    report = DiffReport(ignored=tuple(ignore))
    prod_groups, shad_groups = _group(production, ignore), _group(shadow, ignore)
    for gkey in sorted(prod_groups.keys() | shad_groups.keys()):
        etype, cause = gkey
        counts = report.counts.setdefault(etype, TypeCounts())
        report.differences.extend(_compare_group(
            etype, cause, prod_groups.get(gkey, []), list(shad_groups.get(gkey, [])), counts
        ))
    report.differences.sort(key=lambda d: (d.event_type, _KIND_ORDER[d.kind], d.subject,
                                           d.causation_id or ""))  # fmt: skip
    return report
