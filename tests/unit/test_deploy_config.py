"""docker-compose and Helm point at agents that exist, settings the code reads, files that exist.

The compose file is validated the way `docker compose config` would reject it (unknown service in
depends_on, undeclared named volume, bind mount of a missing file, clashing host ports) plus what
only we know: every `agentstream run` target is an importable agent, every AGENTSTREAM_* variable
is a real setting, every long-running service has a health check, and Prometheus and Grafana are
given the files they are configured to read.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import agentstream.console  # noqa: F401 - registers the console's settings
from agentstream.cli import app as cli_app
from agentstream.config import check_environment
from agentstream.runtime import load_agent

ROOT = Path(__file__).resolve().parents[2]

# Every agent of the reference product is merged: nothing is pending any more.
PENDING_MODULES: frozenset[str] = frozenset()
PENDING_COMMANDS: frozenset[str] = frozenset()
PENDING_SETTINGS_PREFIXES: tuple[str, ...] = ()


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _cli_commands() -> set[str]:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in
             cli_app.registered_commands}
    names |= {g.name or "" for g in cli_app.registered_groups}
    return names


def _check_agent_target(target: str) -> None:
    module = target.partition(":")[0]
    if not _importable(module):
        assert module in PENDING_MODULES, f"{target}: no such module"
        return
    assert load_agent(target).handlers, target


def _check_env(env: dict[str, Any]) -> None:
    ours = {k: str(v) for k, v in env.items() if not k.startswith(PENDING_SETTINGS_PREFIXES)}
    check_environment(ours)


# -- docker-compose --------------------------------------------------------------------------------
def test_compose_has_the_full_stack() -> None:
    services = _services()
    for name in ("kafka", "schema-registry", "qdrant", "prometheus", "grafana", "topics",
                 "gateway", "console", "normalizer", "team-memory", "pr-risk", "focus",
                 "activity", "indexer", "daily-briefing", "assistant", "notifier"):
        assert name in services, name
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert not any("zookeeper" in name for name in services)


def _module_entry(entry: list[str] | None) -> str | None:
    """``services.x`` of an entry point ``python -m services.x``, else None."""
    if entry and entry[:2] == ["python", "-m"]:
        return entry[2]
    return None


def _compose_agents() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in _services().items()
            if s.get("command", [None, None])[:1] == ["run"] or _module_entry(s.get("entrypoint"))}


def test_compose_agents_exist_and_their_settings_are_known() -> None:
    agents = _compose_agents()
    assert len(agents) >= 9, "every agent of the reference product runs in docker-compose"
    for svc in agents.values():
        module = _module_entry(svc.get("entrypoint"))
        if module is not None:
            assert _importable(f"{module}.__main__"), f"python -m {module}: no __main__"
        else:
            _check_agent_target(svc["command"][1])
        _check_env(svc["environment"])


def test_compose_commands_are_agentstream_commands() -> None:
    known = _cli_commands() | PENDING_COMMANDS
    for name, svc in _services().items():
        if svc.get("image") == "agentstream:dev" and not _module_entry(svc.get("entrypoint")):
            assert svc["command"][0] in known, f"{name}: unknown command {svc['command']}"
            _check_env(svc.get("environment") or {})


def test_compose_references_between_services_resolve() -> None:
    services = _services()
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        for dep, spec in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = (spec or {}).get("condition", "service_started")
            if condition == "service_healthy":
                check = services[dep].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {dep} to be healthy, but {dep} has no health check")
            if condition == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} must run once and exit"


def test_compose_long_running_services_have_health_checks() -> None:
    for name, svc in _services().items():
        if svc.get("restart") == "no":
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_compose_volumes_and_mounted_files_exist() -> None:
    compose = _compose()
    declared = set(compose.get("volumes") or {})
    mounted_files: list[str] = []
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes") or []:
            source, target = vol.split(":")[:2]
            assert target.startswith("/"), f"{name}: {vol}"
            if source.startswith((".", "/")):
                path = ROOT / source
                assert path.exists(), f"{name} mounts {source}, which does not exist"
                mounted_files.append(target)
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
        build = svc.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    # Prometheus reads its rules next to its config; Grafana its dashboards where provisioned.
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    for rule_file in prom["rule_files"]:
        assert f"/etc/prometheus/{rule_file}" in mounted_files
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/agentstream.yml").read_text())
    assert provider["providers"][0]["options"]["path"] in mounted_files


def test_compose_ports_are_valid_unique_and_loopback_only() -> None:
    seen: dict[int, str] = {}
    for name, svc in _services().items():
        for spec in svc.get("ports") or []:
            m = re.fullmatch(r"(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)", str(spec))
            assert m, f"{name}: bad port mapping {spec}"
            host_ip, host, container = m.group(1), int(m.group(2)), int(m.group(3))
            assert 0 < host < 65536 and 0 < container < 65536
            assert host not in seen, f"host port {host} used by {seen.get(host)} and {name}"
            seen[host] = name
            assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond this machine"


def test_compose_console_requires_a_token() -> None:
    console = _services()["console"]
    assert console["command"][:3] == ["console", "--host", "0.0.0.0"]
    assert console["environment"]["AGENTSTREAM_CONSOLE_TOKEN"].startswith(
        "${AGENTSTREAM_CONSOLE_TOKEN:?")


def test_compose_go_loads_the_file_like_docker_compose_config() -> None:
    """compose-go (the loader of `docker compose`): JSON schema, interpolation, references."""
    # Where the Makefile's TOOLS puts it (outside the checkout, so fresh clones reuse it).
    tools = Path(os.environ.get("TOOLS", Path.home() / ".cache" / "agentstream" / "tools"))
    tool = tools / "compose-check"
    if not tool.is_file():
        pytest.skip("compose-check not built: `make compose-check` builds it (Go module proxy)")
    env = {"PATH": "/usr/bin:/bin"}
    refused = subprocess.run([str(tool), "-f", str(ROOT / "docker-compose.yml")], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    if not (ROOT / ".env").exists():  # a developer's .env may hold the token
        assert refused.returncode == 1 and "AGENTSTREAM_CONSOLE_TOKEN" in refused.stderr
    ok = subprocess.run([str(tool), "-f", str(ROOT / "docker-compose.yml")],
                        env={**env, "AGENTSTREAM_CONSOLE_TOKEN": "t"}, capture_output=True,
                        text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    resolved = yaml.safe_load(ok.stdout)
    assert set(resolved["services"]) == set(_services())


def test_dockerfile_copies_what_exists() -> None:
    for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


# -- Helm --------------------------------------------------------------------------------------
def _values() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "helm" / "agentstream" / "values.yaml").read_text())


def test_helm_values_name_existing_agents() -> None:
    enabled = [s for s in _values()["services"] if s.get("enabled")]
    assert len(enabled) >= 9
    compose_agents = set(_compose_agents())
    for svc in enabled:
        assert svc["name"] in compose_agents, f"{svc['name']} runs in Helm but not in compose"
        entry = _module_entry(svc.get("command"))
        if entry is not None:
            assert _importable(f"{entry}.__main__"), f"python -m {entry}: no __main__"
            continue
        assert svc["args"][0] == "run"
        module = svc["args"][1].partition(":")[0]
        if _importable(module):
            assert load_agent(svc["args"][1]).name == svc["name"]
        else:
            assert module in PENDING_MODULES, svc["args"][1]


def test_helm_templates_use_known_settings() -> None:
    names = set()
    for tpl in (ROOT / "helm" / "agentstream" / "templates").glob("*.yaml"):
        for line in tpl.read_text().splitlines():
            for token in line.replace(":", " ").split():
                if token.startswith("AGENTSTREAM_"):
                    names.add(token)
    assert names
    check_environment(dict.fromkeys(names, "x"))


def test_helm_values_match_their_schema() -> None:
    schema = json.loads((ROOT / "helm" / "agentstream" / "values.schema.json").read_text())
    jsonschema.validate(_values(), schema)
    full = yaml.safe_load((ROOT / "helm/agentstream/ci/full-values.yaml").read_text())
    jsonschema.validate({**_values(), **full}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**_values(), "kafka": {"bootstrapServers": ""}}, schema)
