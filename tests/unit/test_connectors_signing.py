"""Webhook signatures against the published vectors, rotation, replay window, settings."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from agentstream.connectors import (
    GatewaySettings,
    SignatureError,
    sign_github,
    sign_slack,
    verify_github,
    verify_slack,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _github_vectors() -> list[dict]:
    lines = (DATA / "github" / "signature_vectors.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _payload(vector: dict) -> bytes:
    if "payload_file" in vector:
        name = vector["payload_file"].split(" ")[0].removeprefix("github/")
        capture = json.loads((DATA / "github" / name).read_text())
        return base64.b64decode(capture["body_raw_base64"])
    return vector["payload"].encode()


@pytest.mark.parametrize("vector", _github_vectors(), ids=lambda v: v["name"])
def test_github_vectors(vector: dict) -> None:
    body = _payload(vector)
    if vector.get("expect_valid", True):
        verify_github([vector["secret"]], body, vector["x_hub_signature_256"])
        assert sign_github(vector["secret"], body) == vector["x_hub_signature_256"]
    else:
        with pytest.raises(SignatureError):
            verify_github([vector["secret"]], body, vector["x_hub_signature_256"])


def test_github_flipped_byte_missing_header_and_rotation() -> None:
    body = b'{"zen":"Keep it logically awesome."}'
    sig = sign_github("new", body)
    verify_github(["old", "new"], body, sig)  # rotation: any configured secret
    verify_github(["new"], body, sig.upper().replace("SHA256", "sha256"))  # hex case
    flipped = bytes([body[0] ^ 0x01]) + body[1:]
    with pytest.raises(SignatureError, match="does not match"):
        verify_github(["old", "new"], flipped, sig)
    with pytest.raises(SignatureError, match="missing"):
        verify_github(["new"], body, None)
    with pytest.raises(SignatureError, match="no GitHub webhook secret"):
        verify_github([], body, sig)
    with pytest.raises(SignatureError) as err:
        verify_github(["s3cr3t-value"], body, "sha256=" + "0" * 64)
    assert "s3cr3t-value" not in str(err.value)


def _slack_vectors() -> list[dict]:
    lines = (DATA / "slack" / "signature_vectors.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("vector", _slack_vectors(), ids=lambda v: v["name"])
def test_slack_vectors(vector: dict) -> None:
    now = vector["now_for_test"]
    clock = (lambda: float(now)) if isinstance(now, int) else None
    kwargs = {
        "timestamp": vector["x_slack_request_timestamp"],
        "signature": vector["x_slack_signature"],
    }
    body = vector["body"].encode()
    if vector["expect_valid"]:
        verify_slack([vector["signing_secret"]], body, clock=clock, **kwargs)  # type: ignore[arg-type]
        ts = vector["x_slack_request_timestamp"]
        assert sign_slack(vector["signing_secret"], ts, body) == vector["x_slack_signature"]
    else:
        with pytest.raises(SignatureError):
            if clock is None:
                verify_slack([vector["signing_secret"]], body, **kwargs)
            else:
                verify_slack([vector["signing_secret"]], body, clock=clock, **kwargs)


def test_slack_replay_window_is_five_minutes_either_way() -> None:
    body = b'{"type":"event_callback"}'
    sig = sign_slack("k", 1_000_000, body)
    for now in (1_000_000 - 300, 1_000_000 + 300):
        verify_slack(["k"], body, timestamp="1000000", signature=sig, clock=lambda n=now: n)
    for now in (1_000_000 - 301, 1_000_000 + 301):
        with pytest.raises(SignatureError, match="away from now"):
            verify_slack(["k"], body, timestamp="1000000", signature=sig, clock=lambda n=now: n)
    with pytest.raises(SignatureError, match="whole number"):
        verify_slack(["k"], body, timestamp="soon", signature=sig, clock=lambda: 1_000_000)
    verify_slack(
        ["k"],
        body,
        timestamp="1000000",
        signature=sig,
        clock=lambda: 1_000_600,
        max_skew=timedelta(minutes=10),
    )


def test_gateway_settings_read_secret_lists_and_never_show_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTSTREAM_GATEWAY_GITHUB_SECRETS", "old-secret, new-secret")
    monkeypatch.setenv("AGENTSTREAM_GATEWAY_SLACK_SIGNING_SECRETS", '["slack-one"]')
    monkeypatch.setenv("AGENTSTREAM_GATEWAY_ACK_TIMEOUT", "PT2S")
    s = GatewaySettings()
    assert [x.get_secret_value() for x in s.github_secrets] == ["old-secret", "new-secret"]
    assert [x.get_secret_value() for x in s.slack_signing_secrets] == ["slack-one"]
    assert s.ack_timeout == timedelta(seconds=2)
    shown = repr(s) + str(s) + s.model_dump_json()
    assert "old-secret" not in shown and "slack-one" not in shown
    assert isinstance(s.github_secrets[0], SecretStr)
    with pytest.raises(ValueError, match="extra"):
        GatewaySettings(githb_secrets=["x"])  # type: ignore[call-arg]
