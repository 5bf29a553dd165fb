"""docker-compose and Helm point at agents that exist and at the settings the code reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from agentstream.config import check_environment
from agentstream.runtime import load_agent

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_full_stack() -> None:
    services = _compose()["services"]
    for name in ("kafka", "schema-registry", "qdrant", "prometheus", "grafana", "topics"):
        assert name in services, name
    assert services["kafka"]["image"].startswith("apache/kafka:4.")


def test_compose_agents_exist_and_their_settings_are_known() -> None:
    services = _compose()["services"]
    agents = {n: s for n, s in services.items() if s.get("command", [None])[0] == "run"}
    assert agents, "no agent service in docker-compose.yml"
    for name, svc in agents.items():
        agent = load_agent(svc["command"][1])
        assert agent.handlers, name
        check_environment({k: str(v) for k, v in svc["environment"].items()})


def test_helm_values_name_existing_agents() -> None:
    values = yaml.safe_load((ROOT / "helm" / "agentstream" / "values.yaml").read_text())
    enabled = [s for s in values["services"] if s.get("enabled")]
    assert enabled
    for svc in enabled:
        assert svc["args"][0] == "run"
        assert load_agent(svc["args"][1]).name == svc["name"]


def test_helm_templates_use_known_settings() -> None:
    names = set()
    for tpl in (ROOT / "helm" / "agentstream" / "templates").glob("*.yaml"):
        for line in tpl.read_text().splitlines():
            for token in line.replace(":", " ").split():
                if token.startswith("AGENTSTREAM_"):
                    names.add(token)
    assert names
    check_environment(dict.fromkeys(names, "x"))
