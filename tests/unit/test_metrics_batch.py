"""``observe_many`` adds to a histogram exactly what one ``observe`` per amount would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from agentstream.ops.metrics import observe_many


def _samples(h: Histogram) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels.get("le", "")): s.value
            for m in h.collect() for s in m.samples if not s.name.endswith("_created")}


def test_observe_many_matches_observe_per_amount() -> None:
    amounts = [0.0, 0.0004, 0.001, 0.0011, 0.005, 0.3, 2.5, 7.0, 119.0, 121.0, 1e6, 0.001]
    one, many = (Histogram("h", "doc", ["agent"], buckets=(0.001, 0.005, 0.01, 1, 2.5, 120),
                           registry=CollectorRegistry()) for _ in range(2))
    for a in amounts:
        one.labels("x").observe(a)
    observe_many(many.labels("x"), amounts[:5])
    observe_many(many.labels("x"), amounts[5:])
    observe_many(many.labels("x"), [])
    assert _samples(many) == _samples(one)
    assert _samples(one)[("h_count", "")] == len(amounts)
