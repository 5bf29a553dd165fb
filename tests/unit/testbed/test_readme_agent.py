"""The README's agent tested the way its users test theirs: in memory, no broker, no sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.unit.testbed.readme_agent import agent

from agentstream.events import BuildFailed, RiskSeverity
from agentstream.schemas import new_meta
from agentstream.testing import AgentTestbed


def build_failed(run_id: int, *, repo: str = "acme/api") -> BuildFailed:
    return BuildFailed(meta=new_meta(BuildFailed, source="github", subject=repo), repo=repo,
                       workflow="ci", run_id=run_id, url=f"https://ci/{run_id}",
                       commit_sha="c0ffee",
                       branch="main", conclusion="failure", failed_at=datetime.now(UTC))


async def test_a_failed_build_becomes_a_high_risk() -> None:
    failed = build_failed(41)
    async with AgentTestbed(agent) as bed:
        await bed.send(failed, topic="events.code")
        await bed.settle()
        [risk] = bed.emitted("insights.risks")
        assert bed.dead_letters() == []
    assert risk.kind == "build-failed" and risk.severity == RiskSeverity.HIGH
    assert risk.title == "ci failed" and risk.summary == "run 41 on main"
    assert risk.based_on == (failed.meta.id,) and risk.meta.causation_id == failed.meta.id
    assert risk.meta.subject == "acme/api"


async def test_the_same_delivery_twice_yields_one_risk() -> None:
    failed = build_failed(42)
    async with AgentTestbed(agent) as bed:
        await bed.send(failed, topic="events.code")
        await bed.send(failed, topic="events.code")
        await bed.settle()
        assert len(bed.emitted("insights.risks")) == 1
