"""Shadow replay in one process on the real broker: a candidate with a lower threshold, run
through ``ShadowReplay`` over a window of a production agent's inputs, differs exactly where the
rule differs; a service that writes to a production topic on its own is refused; the window's
``--from`` time and ``--count`` select the inputs they name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agents.harness import running, wait_for

from agentstream import shadow
from agentstream.bus import make_admin, make_producer
from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, AgentSettings, Context
from agentstream.schemas import new_meta
from agentstream.serde import make_serde, read_events
from agentstream.shadow.replay import ShadowOptions, ShadowReplay, parse_start, parse_stop
from agentstream.testing import unique_name

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _pr(n: int, lines: int) -> PullRequestOpened:
    return PullRequestOpened(
        meta=new_meta(PullRequestOpened, source="test", subject=f"o/r#{n}"),
        repo="o/r", number=n, title=f"pr {n}", url=f"https://x/{n}", author="a",
        base_branch="main", head_branch=f"b{n}", created_at=T0, additions=lines,
    )


def _agent(name: str, src: str, out: str, limit: int, *, leak: str | None = None) -> Agent:
    agent = Agent(name, version=f"limit-{limit}", emits_to={out: [RiskDetected]})

    @agent.handler(PullRequestOpened, topic=src)
    async def on_opened(event: PullRequestOpened, ctx: Context) -> None:
        if leak is not None:  # a service writing to a topic of its own choosing
            p = make_producer({"bootstrap.servers": KafkaSettings().bootstrap_servers})
            p.produce(leak, value=b"x")
        if (event.additions or 0) > limit:
            await ctx.emit(RiskDetected(
                meta=ctx.meta(RiskDetected), based_on=(event.meta.id,),
                kind="large-pull-request", severity=RiskSeverity.MEDIUM,
                title=f"{event.repo}#{event.number} is large",
                summary=f"{event.additions} lines, over {limit}",
            ), topic=out)

    return agent


def _publish(bootstrap: str, topic: str, events: list[PullRequestOpened]) -> None:
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap))
    p = make_producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i, e in enumerate(events):  # one hour apart, in event time
        ts = int((T0 + timedelta(hours=i)).timestamp() * 1000)
        p.produce(topic, key=e.meta.subject.encode(), value=serde.encode(topic, e), timestamp=ts)
    assert p.flush(30) == 0


def _ends(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    from confluent_kafka import Consumer, TopicPartition  # noqa: PLC0415

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("probe")})
    try:
        out = {}
        for t in topics:
            for p in c.list_topics(t, timeout=10).topics[t].partitions:
                out[(t, p)] = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
        return out
    finally:
        c.close()


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_candidate_differs_exactly_where_its_rule_does(
    bootstrap_servers: str, topic_factory: Any, mode: str
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=1)
    name = unique_name("sized")
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=unique_name("p") + ".")
    prs = [_pr(n, lines) for n, lines in enumerate([10, 150, 300, 600, 80, 250], start=1)]
    _publish(bootstrap_servers, src, prs)
    production = _agent(name, src, out, 200)
    with running(production, bootstrap_servers):
        wait_for(lambda: len(read_events(kafka, out)) == 3, timeout=timedelta(seconds=60),
                 what="production's three risks")  # 300, 600, 250
    prod_ends = _ends(bootstrap_servers, [src, out])

    replay = ShadowReplay(production, _agent("anything", src, out, 100),
                          options=ShadowOptions(run_id=unique_name("r")[:20]), kafka=kafka,
                          settings=AgentSettings(ops_port=None, mode=mode))  # fmt: skip
    result = replay.run()

    assert result.complete and result.inputs == 6
    counts = result.report.counts["agentstream.insights.RiskDetected"]
    # 300/600/250: the summary names the limit (changed); 150: only the candidate reports it.
    assert (counts.same, counts.changed, counts.only_production, counts.only_shadow) == (0, 3, 0, 1)
    changed = {d.production.fields["based_on"][0] for d in result.report.by_kind("changed")
               if d.production is not None}
    assert changed == {prs[2].meta.id, prs[3].meta.id, prs[5].meta.id}
    assert all(d.changed_fields == ("summary",) for d in result.report.by_kind("changed"))
    [new] = result.report.by_kind("only-shadow")
    assert new.causation_id == prs[1].meta.id and new.shadow is not None
    # The candidate ran under the production name: its ids are production's for the same outputs.
    assert {d.shadow.event_id for d in result.report.by_kind("changed") if d.shadow} == {
        d.production.event_id for d in result.report.by_kind("changed") if d.production}
    # Production untouched: its topics did not grow, its group is not the shadow's.
    assert _ends(bootstrap_servers, [src, out]) == prod_ends
    assert result.group.startswith(f"{kafka.topic_prefix}shadow.")
    assert all(t.startswith(result.run.namespace) for t in result.shadow_topics)
    # A run id is used once: a second run under it would find its dedupe markers.
    with pytest.raises(shadow.ShadowError, match="used before"):
        ShadowReplay(production, production, kafka=kafka, settings=AgentSettings(ops_port=None),
                     options=ShadowOptions(run_id=result.run.run_id)).run()  # fmt: skip


def test_a_write_outside_the_namespace_is_refused_and_dead_lettered(
    bootstrap_servers: str, topic_factory: Any
) -> None:
    src, out, victim = (topic_factory(partitions=1) for _ in range(3))
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=unique_name("p") + ".")
    _publish(bootstrap_servers, src, [_pr(1, 500)])
    production = _agent(unique_name("sized"), src, out, 200)
    candidate = _agent("leaky", src, out, 200, leak=victim)
    before = _ends(bootstrap_servers, [victim])
    from agentstream.runtime import RetryPolicy  # noqa: PLC0415

    for spec in candidate.handlers:  # fail fast: one attempt, then the dead-letter topic
        object.__setattr__(spec, "retry", RetryPolicy(maximum_attempts=1))
    result = ShadowReplay(production, candidate, options=ShadowOptions(), kafka=kafka,
                          settings=AgentSettings(ops_port=None)).run()  # fmt: skip
    assert result.complete
    assert result.dead_letters["shadow"] == 1
    assert _ends(bootstrap_servers, [victim]) == before
    with pytest.raises(shadow.ShadowWriteError), shadow.entered(result.run):
        make_admin({"bootstrap.servers": bootstrap_servers}).delete_topics([victim])


@pytest.mark.slow
def test_window_by_time_and_by_count(bootstrap_servers: str, topic_factory: Any) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=1)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=unique_name("p") + ".")
    prs = [_pr(n, 500) for n in range(1, 7)]  # at T0, T0+1h, ..., T0+5h
    _publish(bootstrap_servers, src, prs)
    agent = _agent(unique_name("sized"), src, out, 200)
    by_time = ShadowReplay(agent, agent, kafka=kafka, settings=AgentSettings(ops_port=None),
                           options=ShadowOptions(
                               start=parse_start("2026-11-30T10:00Z"),
                               stop=parse_stop("2026-11-30T12:00Z", None)))  # fmt: skip
    assert by_time.run().inputs == 2  # 10:00 and 11:00
    # Offsets per partition: an end of 0 is an end (the partition takes no part).
    from agentstream.shadow.replay import resolve_window  # noqa: PLC0415

    highs = _ends(bootstrap_servers, [src])
    w = resolve_window(kafka.client_config(), [src], parse_start("0=0,1=0"),
                       parse_stop(f"{src}:0=0", None))  # fmt: skip
    assert w.ends == {(src, 0): 0, (src, 1): highs[(src, 1)]} and w.total == highs[(src, 1)]
    by_count = ShadowReplay(agent, agent, kafka=kafka, settings=AgentSettings(ops_port=None),
                            options=ShadowOptions(start=parse_start("2026-11-30T09:00Z"),
                                                  stop=parse_stop(None, 3)))  # fmt: skip
    result = by_count.run()
    assert result.inputs == 3
    # Production never ran: every shadow output is only the shadow's.
    assert result.report.counts["agentstream.insights.RiskDetected"].only_shadow == 3
    assert result.production_behind == 3  # the report says why: production never handled them
    # Past its deadline a run stops and says it is incomplete (the command exits 2).
    late = ShadowReplay(agent, agent, kafka=kafka, settings=AgentSettings(ops_port=None),
                        options=ShadowOptions(deadline=timedelta(0))).run()
    assert not late.complete and late.inputs == 6
    # A warm-up reads from earlier (here: the start) without comparing what it caused; at the
    # end the run deletes its topics and group.
    warm = ShadowReplay(agent, agent, kafka=kafka, settings=AgentSettings(ops_port=None),
                        options=ShadowOptions(start=parse_start("2026-11-30T12:00Z"),
                                              warmup=parse_start("earliest"), cleanup=True))
    seen: list[tuple[int, int]] = []
    result = warm.run(progress=lambda done, total: seen.append((done, total)))
    assert result.inputs == 2 and result.shadow_outputs == 2 and result.cleaned_up
    assert seen[-1] == (6, 6)  # it read all six inputs: four of warm-up, two of the window
    left = make_admin({"bootstrap.servers": bootstrap_servers}).list_topics(timeout=10).topics
    assert not [t for t in left if t.startswith(result.run.namespace)]


def _wf_agent(name: str, wf_name: str, src: str, out: str, *, limit: int, bootstrap: str) -> Agent:
    """An agent whose workflow publishes its risk from a step, with its own producer (as the
    daily briefing does), some time after the trigger was committed."""
    import asyncio  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    from agentstream.workflow import StepContext, Workflow  # noqa: PLC0415

    wf = Workflow(wf_name, version="1")

    @wf.step
    async def judge(ctx: StepContext, pr: PullRequestOpened) -> dict[str, Any]:
        await asyncio.sleep(0.3)  # a slow step (an LLM call): the run outlives its trigger
        if (pr.additions or 0) <= limit:
            return {"risk": None}
        meta = new_meta(RiskDetected, source=f"agent.{name}", subject=pr.meta.subject,
                        correlation_id=pr.meta.correlation_id, causation_id=pr.meta.id)
        event = RiskDetected(
            meta=meta.replace(id=str(uuid.uuid5(uuid.NAMESPACE_URL, ctx.run_id))),
            based_on=(pr.meta.id,), kind="large-pull-request", severity=RiskSeverity.MEDIUM,
            title=f"{pr.repo}#{pr.number} is large", summary=f"over {limit}")
        topic = shadow.output_topic(out)
        p = make_producer({"bootstrap.servers": bootstrap})
        p.produce(topic, key=pr.meta.subject.encode(),
                  value=make_serde(KafkaSettings(bootstrap_servers=bootstrap)).encode(topic, event))
        assert p.flush(30) == 0
        return {"risk": event.meta.id}

    agent = Agent(name, version=f"wf-{limit}", emits_to={out: [RiskDetected]})
    agent.workflow(wf, trigger=PullRequestOpened, topic=src)
    return agent


def test_a_workflow_agent_is_compared_once_its_runs_finished(
    bootstrap_servers: str, topic_factory: Any
) -> None:
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    name, wf_name = unique_name("wf-sized"), unique_name("wf")
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=unique_name("p") + ".")
    prs = [_pr(n, lines) for n, lines in enumerate([10, 150, 300, 600], start=1)]
    _publish(bootstrap_servers, src, prs)
    production = _wf_agent(name, wf_name, src, out, limit=200, bootstrap=bootstrap_servers)
    with running(production, bootstrap_servers):
        wait_for(lambda: len(read_events(kafka, out)) == 2, timeout=timedelta(seconds=60),
                 what="the production workflow's two risks")  # fmt: skip
    completions = f"workflows.{wf_name}.events"
    prod_ends = _ends(bootstrap_servers, [src, out, completions])

    candidate = _wf_agent(name, wf_name, src, out, limit=100, bootstrap=bootstrap_servers)
    result = ShadowReplay(production, candidate, kafka=kafka,
                          settings=AgentSettings(ops_port=None)).run()  # fmt: skip
    assert result.complete
    c = result.report.counts["agentstream.insights.RiskDetected"]
    assert (c.same, c.changed, c.only_production, c.only_shadow) == (0, 2, 0, 1)
    assert _ends(bootstrap_servers, [src, out, completions]) == prod_ends
    # Its runs completed in the run's namespace (the completion topic derives from the prefix).
    ns_completions = _ends(bootstrap_servers, [result.run.namespace + completions])
    assert sum(ns_completions.values()) == len(prs)
