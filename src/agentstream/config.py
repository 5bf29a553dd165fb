"""Process settings: one frozen object per component, read from the environment.

Every AgentStream setting is read from an ``AGENTSTREAM_``-prefixed environment variable (or
passed explicitly). Raw librdkafka keys never become AgentStream fields: they pass through the
separate ``librdkafka`` dict (``AGENTSTREAM_LIBRDKAFKA='{"security.protocol": "SASL_SSL"}'``), so
security settings (SASL/SSL) reach the client untouched while a typo in one of ours is an error.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.errors import ConfigError

__all__ = ["ENV_PREFIX", "Duration", "KafkaSettings", "check_environment", "register_settings"]

ENV_PREFIX = "AGENTSTREAM_"


def _plain_seconds(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return timedelta(seconds=float(value))
        except ValueError:
            return value  # ISO 8601 ("PT30S"), parsed by pydantic
    return value


Duration = Annotated[timedelta, BeforeValidator(_plain_seconds)]
"""A settings field holding a duration: plain seconds from the environment ("30", "0.5"), ISO
8601 ("PT30S"), or a ``timedelta``."""

# Every settings class registers here so that an AGENTSTREAM_* variable no class knows about is
# reported instead of silently ignored (a misspelt setting would otherwise fall back to a default).
_REGISTERED: list[type[BaseSettings]] = []
# Variables that belong to tools rather than to a settings class.
_EXTRA_KNOWN = {"AGENTSTREAM_TEST_BROKER", "AGENTSTREAM_HOME", "AGENTSTREAM_CACHE_DIR"}


def register_settings(cls: type[BaseSettings]) -> type[BaseSettings]:
    """Class decorator: make ``check_environment`` aware of a settings class's variables."""
    _REGISTERED.append(cls)
    return cls


@register_settings
class KafkaSettings(BaseSettings):
    """How to reach Kafka (and optionally a Schema Registry).

    Defaults suit the local broker that ``agentstream dev up`` starts on 127.0.0.1:9092.
    ``KAFKA_BOOTSTRAP_SERVERS`` is honoured as well, as most Kafka tooling does.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "bootstrap_servers", "AGENTSTREAM_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="Comma-separated host:port list of brokers.",
    )
    topic_prefix: str = Field(default="", description="Prefix put before every catalog topic.")
    schema_registry_url: str | None = Field(
        default=None,
        description="Confluent Schema Registry URL; unset means registry-free single-object "
        "encoding with writer schemas kept in a compacted topic.",
    )
    librdkafka: dict[str, str] = Field(
        default_factory=dict,
        description="Raw librdkafka properties passed to every client (security, tuning).",
    )

    def client_config(self, **overrides: Any) -> dict[str, Any]:
        """The librdkafka configuration for a client: ours, then pass-through, then overrides."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            # librdkafka's own log lines go through Python logging, repeats collapsed.
            "logger": librdkafka_logger(),
        }
        conf.update(self.librdkafka)
        conf.update(overrides)
        return conf


class _Repeats(logging.Filter):
    """Lets a librdkafka message through once per ``every`` seconds (digits ignored, so the same
    'Connect to ... failed' every second while a broker is down is one line, not a flood); the
    next one that passes says how many were held back."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        shape = re.sub(r"\d+", "#", record.getMessage())
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(shape, (-self.every, 0))
            if now - last < self.every:
                self._last[shape] = (last, held + 1)
                return False
            self._last[shape] = (now, 0)
            if len(self._last) > 1000:
                self._last.clear()
        if held:
            record.msg = f"{record.getMessage()} ({held} similar lines held back)"
            record.args = None
        return True


def librdkafka_logger() -> logging.Logger:
    """The logger (``agentstream.librdkafka``) every AgentStream Kafka client logs through."""
    logger = logging.getLogger("agentstream.librdkafka")
    if not any(isinstance(f, _Repeats) for f in logger.filters):
        logger.addFilter(_Repeats())
    return logger
# Settings classes of optional parts, imported when the environment is checked so that their
# variables are known before the module that uses them is loaded (``agentstream run``).
_OPTIONAL_SETTINGS = ("agentstream.llm._settings", "agentstream.retrieval._settings")


def _known_variables() -> set[str]:
    for module in _OPTIONAL_SETTINGS:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    known = set(_EXTRA_KNOWN)
    for cls in _REGISTERED:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            known.add(f"{prefix}{name}".upper())
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                known.update(str(a).upper() for a in alias.choices if isinstance(a, str))
    return known


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Raise ``ConfigError`` naming every ``AGENTSTREAM_*`` variable that no setting reads."""
    env = os.environ if environ is None else environ
    known = _known_variables()
    unknown = sorted(k for k in env if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)
    if unknown:
        ours = sorted(k for k in known if k.startswith(ENV_PREFIX))
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name.upper(), ours, n=1)
            hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
        raise ConfigError(
            f"unknown AgentStream setting(s): {', '.join(hints)}; known: {', '.join(ours)}"
        )


def load(cls: type[BaseSettings], /, **values: Any) -> Any:
    """Build a settings object, turning validation failures into a ``ConfigError``."""
    try:
        return cls(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or cls.__name__}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid {cls.__name__}: {problems}") from exc


def iter_registered() -> Iterable[type[BaseSettings]]:
    return tuple(_REGISTERED)
