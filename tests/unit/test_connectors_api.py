"""The connectors' public surface, and that their services use only it."""

from __future__ import annotations

import ast
from pathlib import Path

from agentstream import connectors
from agentstream.connectors import metrics

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_are_pinned() -> None:
    assert sorted(connectors.__all__) == sorted(set(connectors.__all__))
    assert {
        "Gateway",
        "GatewaySettings",
        "IdentityMap",
        "Normalizer",
        "NormalizerSettings",
        "RawPublisher",
        "StoreBuildLedger",
        "make_raw",
        "serve_gateway",
        "sign_github",
        "sign_slack",
        "verify_github",
        "verify_slack",
        "github_file",
        "slack_file",
        "ics_file",
    } <= set(connectors.__all__)
    for name in connectors.__all__:
        assert getattr(connectors, name) is not None
    assert metrics.GATEWAY_REQUESTS._name == "agentstream_gateway_requests"
    assert metrics.GATEWAY_ACK_LATENCY._name == "agentstream_gateway_ack_latency_seconds"
    assert metrics.NORMALIZER_SKIPPED._labelnames == ("source", "reason")


def test_connector_services_import_only_public_names() -> None:
    for folder in ("gateway", "normalizer"):
        for path in (ROOT / "services" / folder).glob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
                    assert not any(p.startswith("_") for p in node.module.split(".")), (
                        path,
                        node.module,
                    )
                    assert not node.module.startswith("services."), (path, node.module)
                    assert all(not a.name.startswith("_") for a in node.names), (path, node.module)
