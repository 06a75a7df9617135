"""The local single-node Apache Kafka broker (KRaft): fetch, start, stop, inspect.

The broker is the real Apache Kafka server, run from the jars Maven resolved into the
cache folder. All of its state (storage, logs, pid file) lives under
`SKILLSTREAM_HOME/broker`, and it listens on `SKILLSTREAM_BOOTSTRAP`, so instances with
different settings run side by side. `down` stops only the process `up` started.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skillstream.settings import KAFKA_VERSION, Settings

POM = Path(__file__).with_name("pom.xml")
MIN_JAVA = 17


class BrokerError(RuntimeError):
    """Something the user can act on: what went wrong and what to do."""


# ---- set-up ---------------------------------------------------------------------------


def java_major_version(java: str = "java") -> int | None:
    """The major version of `java`, or None when it is not installed."""
    if shutil.which(java) is None:
        return None
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def check_prerequisites(need_maven: bool) -> None:
    missing = []
    version = java_major_version()
    if version is None:
        missing.append(f"Java {MIN_JAVA} or newer (no `java` on PATH)")
    elif version < MIN_JAVA:
        missing.append(f"Java {MIN_JAVA} or newer (found Java {version})")
    if need_maven and shutil.which("mvn") is None:
        missing.append("Apache Maven (no `mvn` on PATH)")
    if missing:
        raise BrokerError(
            "cannot set up the Kafka broker, missing: "
            + "; ".join(missing)
            + ". On Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven"
        )


def fetch(settings: Settings) -> Path:
    """Resolve Kafka and its runtime dependencies from Maven Central into the cache."""
    libs = settings.kafka_libs
    complete = libs.parent / ".complete"
    if complete.exists() and any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        check_prerequisites(need_maven=False)
        return libs
    check_prerequisites(need_maven=True)
    staging = libs.parent / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    maven_copy_dependencies(POM, {"kafka.version": KAFKA_VERSION}, staging, "the Kafka broker")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    complete.touch()
    return libs


# ---- configuration ----------------------------------------------------------------------


def maven_copy_dependencies(pom: Path, properties: dict[str, str], out: Path, what: str) -> None:
    """The runtime jars of `pom` into `out` (Maven Central, through the machine's Maven)."""
    command = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(pom),
        *(f"-D{key}={value}" for key, value in properties.items()),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(
            f"Maven could not fetch {what}:\n" + (result.stdout + result.stderr)[-4000:]
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _controller_port(settings: Settings, client_host: str) -> int:
    """A controller port kept for this home while it stays free."""
    remembered = settings.broker_dir / "controller.port"
    if remembered.exists():
        port = int(remembered.read_text())
        if not port_open(client_host, port):
            return port
    port = free_port()
    remembered.write_text(str(port))
    return port


def _write_config(settings: Settings) -> Path:
    host, port = settings.bootstrap_host_port
    directory = settings.broker_dir
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    controller = _controller_port(settings, host)
    properties = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(directory / "data"),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Statements are the system of record for replays: keep them until deleted.
        "log.retention.ms": "-1",
    }
    return write_server_config(directory, properties)


def write_server_config(directory: Path, properties: dict[str, str]) -> Path:
    """A broker's server.properties and its log4j2.properties (a rolling log under logs/) in
    `directory`; returns the server.properties (the local broker, each cluster broker)."""
    config = directory / "server.properties"
    config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
    log_file = directory / "logs" / "server.log"
    (directory / "log4j2.properties").write_text(
        "appender.file.type = RollingFile\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {log_file}\n"
        f"appender.file.filePattern = {log_file}.%i\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "appender.file.policies.type = Policies\n"
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
        "appender.file.policies.size.size = 20MB\n"
        "appender.file.strategy.type = DefaultRolloverStrategy\n"
        "appender.file.strategy.max = 3\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = file\n"
    )
    return config


def _java_command(settings: Settings, main_class: str, *args: str) -> list[str]:
    log_config = settings.broker_dir / "log4j2.properties"
    return [
        "java",
        f"-Xmx{settings.broker_heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log_config}",
        # Marks the process as this home's broker, so `down` never stops anything else.
        f"-Dskillstream.home={settings.home}",
        "-cp",
        str(settings.kafka_libs / "*"),
        main_class,
        *args,
    ]


def new_cluster_id() -> str:
    """A KRaft cluster id (base64url of a random UUID)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def format_storage(
    data_dir: Path, java: Callable[..., list[str]], cluster_id: str, config: Path, what: str
) -> None:
    """Format a KRaft node's storage under `data_dir` once; `java(main_class, *args)` is the
    command line of a JVM on the Kafka classpath (the local broker's, a cluster member's)."""
    if (data_dir / "meta.properties").exists():
        return
    # `--cluster-id=ID` in one argument: a base64url id may start with "-" (1 in 64), and as a
    # separate argument the tool's parser would take it for an option and refuse to format.
    command = java(
        "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config)
    )
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(f"formatting {what} failed:\n{result.stdout}{result.stderr}")


# ---- process management -------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerProcess:
    pid: int
    bootstrap: str
    started_at: float


def _pid_file(settings: Settings) -> Path:
    return settings.broker_dir / "broker.pid"


def _is_our_process(settings: Settings, pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    marker = f"-Dskillstream.home={settings.home}".encode()
    return marker in cmdline


def running(settings: Settings) -> BrokerProcess | None:
    """The broker this home started, if it is still running."""
    pid_file = _pid_file(settings)
    if not pid_file.exists():
        return None
    record = json.loads(pid_file.read_text())
    process = BrokerProcess(**record)
    if _is_our_process(settings, process.pid):
        return process
    pid_file.unlink(missing_ok=True)  # stale: the process is gone
    return None


def _log_tail(settings: Settings, lines: int = 30) -> str:
    texts = []
    for name in ("stdout.log", "server.log"):
        path = settings.broker_dir / "logs" / name
        if path.exists():
            texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
    return "\n".join(texts)


def up(settings: Settings, timeout: float = 90.0) -> BrokerProcess | None:
    """Start this home's broker unless one runs, and create the topics.

    When the bootstrap address is already served by a Kafka broker this home did not start
    (a cluster of your own), nothing is started: the topics are created there and None is
    returned.
    """
    from skillstream.kafka import KafkaUnavailable, ensure_topics, wait_for_broker

    existing = running(settings)
    if existing is not None:
        ensure_topics(settings)
        return existing
    host, port = settings.bootstrap_host_port
    if port_open(host, port):
        try:
            wait_for_broker(settings, timeout=5.0)
        except KafkaUnavailable:
            raise BrokerError(
                f"{host}:{port} is already served by another process that is not a Kafka "
                "broker; point SKILLSTREAM_BOOTSTRAP at a free port"
            ) from None
        ensure_topics(settings)
        return None
    check_prerequisites(need_maven=False)
    if not any(settings.kafka_libs.glob("kafka_2.13-*.jar")):
        raise BrokerError(
            f"the Kafka broker is not fetched ({settings.kafka_libs}); run `make setup`"
        )
    config = _write_config(settings)
    format_storage(
        settings.broker_dir / "data",
        functools.partial(_java_command, settings),
        new_cluster_id(),
        config,
        "the broker storage",
    )
    stdout = (settings.broker_dir / "logs" / "stdout.log").open("ab")
    process = subprocess.Popen(
        _java_command(settings, "kafka.Kafka", str(config)),
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # survives the CLI; a Ctrl-C in the terminal does not reach it
    )
    stdout.close()
    record = BrokerProcess(pid=process.pid, bootstrap=settings.bootstrap, started_at=time.time())
    _pid_file(settings).write_text(json.dumps(record.__dict__))
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if process.poll() is not None:
            _pid_file(settings).unlink(missing_ok=True)
            raise BrokerError(
                f"the broker exited with code {process.returncode} while starting:\n"
                + _log_tail(settings)
            )
        if time.monotonic() > deadline:
            down(settings)
            raise BrokerError(f"the broker did not answer on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.2)
    wait_for_broker(settings, timeout=max(deadline - time.monotonic(), 5.0))
    ensure_topics(settings)
    return record


def down(settings: Settings, timeout: float = 60.0) -> bool:
    """Stop this home's broker; True when one was running. Never stops another process."""
    process = running(settings)
    if process is None:
        return False
    os.kill(process.pid, signal.SIGTERM)  # controlled shutdown: flushes logs, closes segments
    deadline = time.monotonic() + timeout
    while _is_our_process(settings, process.pid) and time.monotonic() < deadline:
        _reap(process.pid)
        time.sleep(0.1)
    if _is_our_process(settings, process.pid):
        os.kill(process.pid, signal.SIGKILL)
        while _is_our_process(settings, process.pid):
            _reap(process.pid)
            time.sleep(0.05)
    _pid_file(settings).unlink(missing_ok=True)
    return True


def kill(settings: Settings) -> None:
    """SIGKILL this home's broker, as a crash would (used by fault tests)."""
    process = running(settings)
    if process is None:
        return
    os.kill(process.pid, signal.SIGKILL)
    while _is_our_process(settings, process.pid):
        _reap(process.pid)
        time.sleep(0.05)
    _pid_file(settings).unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect the exit status when the broker is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def log_file(settings: Settings) -> Path:
    return settings.broker_dir / "logs" / "server.log"
