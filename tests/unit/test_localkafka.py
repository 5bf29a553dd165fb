from __future__ import annotations

from pathlib import Path

import pytest

from agentstream.errors import ConfigError, MissingToolError
from agentstream.localkafka import LocalBroker, ensure_jars


def test_missing_java_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(MissingToolError, match=r"(?s)'mvn'.*install Apache Maven"):
        ensure_jars(version="0.0.0-none", cache_dir=tmp_path)


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    (tmp_path / "mvn").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "mvn").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="Java 17"):
        ensure_jars(version="0.0.0-none", cache_dir=tmp_path / "cache")


def test_same_ports_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        LocalBroker(tmp_path, port=9000, controller_port=9000)


def test_status_of_a_never_started_broker_is_none(tmp_path: Path) -> None:
    assert LocalBroker(tmp_path / "nothing").status() is None
