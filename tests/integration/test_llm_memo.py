"""The memo on a real broker: a workflow step's calls, and a second process finding answers."""

from __future__ import annotations

from agentstream.config import KafkaSettings
from agentstream.llm import LLM, LLMSettings, memo_topic
from agentstream.testing import OpenAIServer, consume_until, consumer, unique_name
from agentstream.workflow import StepContext


async def test_a_step_retried_or_resumed_elsewhere_reuses_its_answers(
    bootstrap_servers: str,
) -> None:
    name = unique_name("llm-memo")
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    with OpenAIServer() as server:
        settings = LLMSettings(base_url=server.base_url, api_key="test")
        first = LLM(name, settings=settings, kafka=kafka)
        attempt1 = StepContext(run_id="run-1", workflow="w", step="summarise", attempt=1)
        a = await first.complete("what happened?", ctx=attempt1)
        b = await first.complete("and then?", ctx=attempt1)
        attempt2 = StepContext(run_id="run-1", workflow="w", step="summarise", attempt=2)
        again = await first.complete("what happened?", ctx=attempt2)
        await first.aclose()
        # Another process (a fresh LLM reads the memo topic) resumes the run.
        other = LLM(name, settings=settings, kafka=kafka)
        attempt3 = StepContext(run_id="run-1", workflow="w", step="summarise", attempt=3)
        resumed = [await other.complete(q, ctx=attempt3) for q in ("what happened?", "and then?")]
        fresh = await other.complete("what happened?", ctx=StepContext(
            run_id="run-2", workflow="w", step="summarise", attempt=1))
        await other.aclose()
    assert not a.memoised and not b.memoised
    assert again.memoised and again.text == a.text
    assert [r.memoised for r in resumed] == [True, True]
    assert [r.text for r in resumed] == [a.text, b.text]
    assert not fresh.memoised, "another run is another input: the same prompt is a new call"
    assert server.prompts() == ["what happened?", "and then?", "what happened?"]
    with consumer(bootstrap_servers) as c:
        c.subscribe([memo_topic(name)])
        keys = {m.key() for m in consume_until(c, count=3)}
    assert keys == {b"step|run-1:summarise|0", b"step|run-1:summarise|1",
                    b"step|run-2:summarise|0"}
