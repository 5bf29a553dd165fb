"""A real single-node Apache Kafka broker (KRaft) from Apache Kafka's own jars.

On a machine without Docker, AgentStream still runs against real Kafka: Maven copies
``org.apache.kafka:kafka_2.13`` and a Log4j 2 backend from Maven Central into a cache directory
(``~/.cache/agentstream/kafka-<version>/libs`` unless ``AGENTSTREAM_CACHE_DIR`` says otherwise),
the storage directory is formatted once with ``kafka.tools.StorageTool``, and ``kafka.Kafka``
runs as a detached process whose data directory survives restarts.

A broker lives in a *home* directory (``~/.agentstream/broker`` by default, or
``AGENTSTREAM_HOME``): ``server.properties``, ``data/``, ``logs/server.log`` and ``broker.json``
(pid, ports, version). Several brokers on other ports and homes can run side by side; the tests
start their own.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from agentstream.errors import BrokerStartError, ConfigError, MissingToolError

__all__ = [
    "KAFKA_VERSION",
    "BrokerStatus",
    "LocalBroker",
    "default_cache_dir",
    "default_home",
    "ensure_jars",
    "free_port",
]

KAFKA_VERSION = "4.1.1"
_MIN_JAVA = 17
_STATE_FILE = "broker.json"


def default_home() -> Path:
    """Where ``agentstream dev`` keeps its broker.

    ``$AGENTSTREAM_HOME/broker``, else ``~/.agentstream/broker``.
    """
    base = os.environ.get("AGENTSTREAM_HOME")
    return Path(base) / "broker" if base else Path.home() / ".agentstream" / "broker"


def default_cache_dir() -> Path:
    """Where fetched jars are kept: ``$AGENTSTREAM_CACHE_DIR`` or ``~/.cache/agentstream``."""
    base = os.environ.get("AGENTSTREAM_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "agentstream"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MissingToolError(f"'{tool}' was not found on PATH: {hint}")
    return path


def _java() -> str:
    java = _require(
        "java",
        f"install a Java {_MIN_JAVA}+ runtime (Debian/Ubuntu: apt-get install "
        "openjdk-17-jre-headless; macOS: brew install openjdk@17), or use docker-compose",
    )
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=60, check=False
    ).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8" style
            major = int(match.group(2))
        if major < _MIN_JAVA:
            raise MissingToolError(
                f"Kafka 4 needs Java {_MIN_JAVA}+, but '{java}' is Java {major}: "
                "install OpenJDK 17 or newer and put it first on PATH"
            )
    return java


def ensure_jars(
    *, version: str = KAFKA_VERSION, cache_dir: Path | None = None, quiet: bool = True
) -> Path:
    """Fetch the broker's jars with Maven once; return the directory that holds them.

    Idempotent: a complete download is marked with a stamp file and reused.
    """
    libs = (cache_dir or default_cache_dir()) / f"kafka-{version}" / "libs"
    stamp = libs / ".complete"
    if stamp.exists():
        return libs
    mvn = _require(
        "mvn",
        "install Apache Maven to fetch Kafka's jars from Maven Central "
        "(Debian/Ubuntu: apt-get install maven; macOS: brew install maven)",
    )
    _java()
    libs.mkdir(parents=True, exist_ok=True)
    pom = resources.files("agentstream.localkafka").joinpath("pom.xml")
    with resources.as_file(pom) as pom_path:
        cmd = [
            mvn,
            "-B",
            "-f",
            str(pom_path),
            f"-Dkafka.version={version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
        if quiet:
            cmd.insert(1, "-q")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise BrokerStartError(
            f"Maven could not fetch Kafka {version} from Maven Central (exit {proc.returncode}):\n"
            f"{tail}"
        )
    if not any(libs.glob(f"kafka_2.13-{version}.jar")):
        raise BrokerStartError(f"Maven finished but kafka_2.13-{version}.jar is not in {libs}")
    stamp.write_text(version)
    return libs


@dataclass(frozen=True)
class BrokerStatus:
    """What ``agentstream dev status`` reports about a broker."""

    pid: int
    port: int
    controller_port: int
    version: str
    home: str
    running: bool
    bootstrap_servers: str
    started_at: float
    already_running: bool = False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return b"kafka.Kafka" in cmdline.read_bytes()
        except OSError:
            return False
    return True


class LocalBroker:
    """One single-node KRaft broker (broker + controller in one JVM) living in ``home``.

    ``start`` is idempotent (a running broker is reported, not started twice), waits until the
    broker answers a metadata request, and raises ``BrokerStartError`` with the log's tail when
    it does not within ``start_timeout``. ``stop`` sends SIGTERM and waits for a clean shutdown
    (SIGKILL only after ``stop_timeout``). Ports default to 9092 (clients) and 9093 (controller).
    """

    def __init__(
        self,
        home: Path | None = None,
        *,
        port: int = 9092,
        controller_port: int | None = None,
        version: str = KAFKA_VERSION,
        heap: str = "512m",
        start_timeout: timedelta = timedelta(seconds=90),
        stop_timeout: timedelta = timedelta(seconds=30),
        cache_dir: Path | None = None,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        self.home = (home or default_home()).resolve()
        self.port = port
        self.controller_port = controller_port if controller_port is not None else port + 1
        if self.port == self.controller_port:
            raise ConfigError("the broker port and the controller port must differ")
        self.version = version
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.cache_dir = cache_dir
        self.extra_config = dict(extra_config or {})

    # -- paths -------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _state_path(self) -> Path:
        return self.home / _STATE_FILE

    # -- status ------------------------------------------------------------------------------
    def status(self) -> BrokerStatus | None:
        """The running broker of this home, or None (a stale state file is removed)."""
        path = self._state_path()
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not _pid_alive(int(state["pid"])):
            path.unlink(missing_ok=True)
            return None
        return BrokerStatus(**{**state, "running": True})

    def logs(self, lines: int = 50) -> str:
        """The last ``lines`` lines of the broker's log (server log, then process output)."""
        chunks = []
        for f in (self.log_file, self.home / "logs" / "stdout.log"):
            if f.exists():
                chunks.extend(f.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(chunks[-lines:])

    # -- start / stop ------------------------------------------------------------------------
    def _write_config(self) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Compacted topics (memory, checkpoints) should compact promptly in development.
            "log.cleaner.backoff.ms": "1000",
            "auto.create.topics.enable": "false",
        }
        props.update(self.extra_config)
        path = self.home / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _classpath(self) -> str:
        libs = ensure_jars(version=self.version, cache_dir=self.cache_dir)
        return str(libs / "*")

    def _format_if_needed(self, java: str, classpath: str, config: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        proc = subprocess.run(
            [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
             f"--cluster-id={cluster_id}", "-c", str(config)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise BrokerStartError(
                f"formatting {self.data_dir} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}"
            )

    def _port_in_use(self, port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def start(self) -> BrokerStatus:
        """Start the broker (or report the one already running) and wait until it answers."""
        current = self.status()
        if current is not None:
            return BrokerStatus(**{**asdict(current), "already_running": True})
        for p in (self.port, self.controller_port):
            if self._port_in_use(p):
                raise BrokerStartError(
                    f"port {p} on 127.0.0.1 is already in use by another process; "
                    "choose other ports (agentstream dev up --port N)"
                )
        java = _java()
        classpath = self._classpath()
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format_if_needed(java, classpath, config)
        log4j = resources.files("agentstream.localkafka").joinpath("log4j2.properties")
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(config),
        ]
        started = time.time()
        with open(self.home / "logs" / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.home,
            )  # fmt: skip
        state: dict[str, Any] = {
            "pid": proc.pid,
            "port": self.port,
            "controller_port": self.controller_port,
            "version": self.version,
            "home": str(self.home),
            "bootstrap_servers": self.bootstrap_servers,
            "started_at": started,
        }
        try:
            self._wait_ready(proc)
        except BaseException:
            self._kill(proc.pid)
            raise
        self._state_path().write_text(json.dumps(state))
        return BrokerStatus(**state, running=True)

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout.total_seconds()
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerStartError(
                    f"the Kafka broker exited with code {proc.returncode} while starting; "
                    f"last log lines:\n{self.logs(40)}"
                )
            try:
                md = admin.list_topics(timeout=2)
                if md.brokers:
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise BrokerStartError(
            f"the Kafka broker did not answer a metadata request on {self.bootstrap_servers} "
            f"within {self.start_timeout.total_seconds():.0f}s; last log lines:\n{self.logs(40)}"
        )

    def _kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        self._reap(pid, 10)

    @staticmethod
    def _reap(pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    return True
            except ChildProcessError:  # not our child: poll for its disappearance instead
                if not _pid_alive(pid):
                    return True
            time.sleep(0.1)
        return False

    def kill(self) -> bool:
        """Stop at once with SIGKILL, as a crash would (no clean shutdown); False if not running.
        The data directory stays: ``start`` recovers from it."""
        current = self.status()
        if current is None:
            return False
        self._kill(current.pid)
        self._state_path().unlink(missing_ok=True)
        return True

    def stop(self) -> bool:
        """Stop gracefully (SIGTERM, wait, SIGKILL after ``stop_timeout``); False if not running."""
        current = self.status()
        if current is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(current.pid, signal.SIGTERM)
        if not self._reap(current.pid, self.stop_timeout.total_seconds()):
            self._kill(current.pid)
        self._state_path().unlink(missing_ok=True)
        return True
