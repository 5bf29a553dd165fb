"""``agentstream produce`` and ``tail`` against the real broker."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import typer
from typer.testing import CliRunner

from agentstream.cli import _events
from agentstream.errors import AgentStreamError

app = typer.Typer()
_events.register(app)
runner = CliRunner()

LINES = [
    {"repo": "o/r", "number": 1, "title": "a", "url": "u", "author": "me",
     "base_branch": "main", "head_branch": "x", "created_at": "2024-05-01T10:00:00Z",
     "meta": {"subject": "o/r#1"}},
    {"repo": "o/r", "number": 2, "title": "b", "url": "u", "author": "me",
     "base_branch": "main", "head_branch": "y", "created_at": 1714557600000},
]


@pytest.fixture
def env(bootstrap_servers: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSTREAM_BOOTSTRAP_SERVERS", bootstrap_servers)


def _stdin(lines: list[dict[str, object]]) -> str:
    return "".join(json.dumps(x) + "\n" for x in lines)


def test_produce_then_tail(env: None, topic_factory: Callable[..., str]) -> None:
    topic = topic_factory()
    res = runner.invoke(app, ["produce", topic, "--type", "PullRequestOpened",
                              "--subject", "o/r#2"], input=_stdin(LINES))
    assert res.exit_code == 0, res.output
    assert "produced 2 agentstream.events.code.PullRequestOpened" in res.output
    res = runner.invoke(app, ["tail", topic, "--from", "beginning", "--max", "2",
                              "--timeout", "20"])
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["key"] for o in out] == ["o/r#1", "o/r#2"]
    assert out[0]["type"] == "agentstream.events.code.PullRequestOpened"
    assert out[0]["value"]["created_at"] == "2024-05-01T10:00:00.000Z"
    assert out[1]["value"]["meta"]["source"] == "cli"
    # --from OFFSET
    res = runner.invoke(app, ["tail", topic, "--from", "1", "--max", "1", "--timeout", "20",
                              "--values-only"])
    assert json.loads(res.stdout)["number"] == 2


def test_invalid_line_produces_nothing(env: None, topic_factory: Callable[..., str]) -> None:
    topic = topic_factory()
    bad = [LINES[0], {**LINES[1], "number": "two", "meta": {"subject": "s"}}, LINES[0]]
    res = runner.invoke(app, ["produce", topic, "--type", "PullRequestOpened"],
                        input=_stdin(bad))
    assert res.exit_code != 0
    assert isinstance(res.exception, AgentStreamError)
    assert "line 2" in str(res.exception) and "number" in str(res.exception)
    res = runner.invoke(app, ["tail", topic, "--from", "beginning", "--timeout", "3"])
    assert res.exit_code == 0 and res.stdout == ""
