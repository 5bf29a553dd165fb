"""Paid work survives a crash: an agent SIGKILLed after its LLM calls and before its commit asks
nothing again after the restart (the memo in ``_agentstream.llm.<agent>``)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from tests.integration.agents.harness import pr, produce_events, serde_for, spawn_agent, wait_for

from agentstream.testing import OpenAIServer, consume_until, consumer

TARGET = "tests.integration.agents.llm_agent:agent"
FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})


def _calls(log: Path) -> list[tuple[int, bool]]:
    if not log.exists():
        return []
    return [(int(n), m == "True") for n, m in
            (line.split() for line in log.read_text().splitlines() if line.strip())]


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_sigkill_after_the_call_does_not_pay_twice(
    mode: str, bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=2)
    name = f"llm-kill-{src}"
    n = 12
    produce_events(bootstrap_servers, src, [pr(f"k{i}", i) for i in range(n)])
    log = tmp_path / "calls.log"
    with OpenAIServer() as server:
        env = {
            "LLM_AGENT": name, "LLM_IN": src, "LLM_OUT": out, "LLM_LOG": str(log),
            "AGENT_STDERR": str(tmp_path / "agent.stderr"), "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
            "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test",
            "AGENTSTREAM_AGENT_MODE": mode, "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
            "AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "32",
        }
        proc = spawn_agent(TARGET, bootstrap_servers, {**env, "LLM_HANG_AFTER_CALL": "1"})
        try:
            wait_for(lambda: len(_calls(log)) >= n, timeout=timedelta(seconds=90),
                     what=f"{n} LLM calls answered before the kill")
        finally:
            proc.kill()
            proc.wait(10)
        assert sorted(server.answered()) == sorted(
            f"summarise pull request {i}: t" for i in range(n))
        proc = spawn_agent(TARGET, bootstrap_servers, env)
        try:
            serde = serde_for(bootstrap_servers)
            iso = "read_committed" if mode == "exactly-once" else "read_uncommitted"
            with consumer(bootstrap_servers, **{"isolation.level": iso}) as c:
                c.subscribe([out])
                got = consume_until(c, count=n, timeout=timedelta(seconds=120))
        finally:
            proc.terminate()
            proc.wait(40)
        stderr = (tmp_path / "agent.stderr").read_text()[-3000:]
        titles = sorted(int(serde.decode(out, m.value()).title) for m in got)
        assert titles == list(range(n)), stderr
        prompts = Counter(server.prompts())
        assert max(prompts.values()) == 1, f"a prompt was paid twice: {prompts}"
        after = _calls(log)[n:]
        assert sorted(i for i, _ in after) == list(range(n))
        assert all(memoised for _, memoised in after), "the restart reused every stored answer"
