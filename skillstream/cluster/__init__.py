"""A cluster on this machine: three Kafka brokers (KRaft), a Flink session cluster (a
JobManager and two TaskManagers) and Beam's Flink job server. Each TaskManager runs the
pipeline's Python code in a Beam SDK worker it starts itself (`sdk_worker.py`).

Every member is a real server process run from the jars in the cache (`fetch.py`); all of
their state (configuration, data, logs) lives under `SKILLSTREAM_HOME/cluster`, and
`cluster.json` there records each member's ports and pid. `up` starts the members that are not
running (so it also brings back one that died, on its ports), `down` stops only the processes
`up` started: each carries its member's name in its environment (SKILLSTREAM_CLUSTER_MEMBER).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillstream.broker import (
    BrokerError,
    check_prerequisites,
    format_storage,
    free_port,
    new_cluster_id,
    port_open,
    write_server_config,
)
from skillstream.cluster import fetch
from skillstream.settings import Settings

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

HOST = "127.0.0.1"
KAFKA_NODES = (1, 2, 3)
TASK_MANAGERS = (1, 2)
MARKER = "SKILLSTREAM_CLUSTER_MEMBER"
# Memory of each member, within ~5 GB for the whole cluster (each TaskManager's Python SDK
# worker takes ~0.3-0.5 GB besides).
KAFKA_HEAP = "384m"
JOB_MANAGER_MEMORY = "768m"
TASK_MANAGER_MEMORY = "1024m"
JOB_SERVER_HEAP = "512m"
SLOTS_PER_TASK_MANAGER = 2
PARALLELISM = 2
REPLICATION = 3
MIN_IN_SYNC = 2


class ClusterError(BrokerError):
    """Something about the cluster the user can act on."""


@dataclass(frozen=True)
class Member:
    name: str
    ports: dict[str, int]
    pid: int | None


def cluster_dir(settings: Settings) -> Path:
    return settings.home / "cluster"


def _state_file(settings: Settings) -> Path:
    return cluster_dir(settings) / "cluster.json"


def _load_state(settings: Settings) -> dict[str, Any]:
    path = _state_file(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def _save_state(settings: Settings, state: dict[str, Any]) -> None:
    path = _state_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))


def member_names() -> list[str]:
    return [
        *(f"kafka-{node}" for node in KAFKA_NODES),
        "jobmanager",
        *(f"taskmanager-{n}" for n in TASK_MANAGERS),
        "job-server",
    ]


PORT_NAMES = {
    "kafka": ("client", "controller"),
    "jobmanager": ("rpc", "rest"),
    "taskmanager": (),
    "job-server": ("job", "artifact", "expansion"),
}


def _kind(name: str) -> str:
    return name.rsplit("-", 1)[0] if name[-1].isdigit() else name


def _ports(state: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each member's ports: the recorded ones, new free ones where none are recorded yet."""
    ports: dict[str, dict[str, int]] = state.setdefault("ports", {})
    for name in member_names():
        if name not in ports:
            ports[name] = {port: free_port(HOST) for port in PORT_NAMES[_kind(name)]}
    return ports


def bootstrap(state: dict[str, Any]) -> str:
    return ",".join(f"{HOST}:{state['ports'][f'kafka-{n}']['client']}" for n in KAFKA_NODES)


def endpoints(settings: Settings) -> dict[str, str]:
    """Where clients reach the cluster; empty when it was never brought up."""
    state = _load_state(settings)
    if "ports" not in state:
        return {}
    ports = state["ports"]
    return {
        "bootstrap": bootstrap(state),
        "flink_master": f"{HOST}:{ports['jobmanager']['rest']}",
        "job_endpoint": f"{HOST}:{ports['job-server']['job']}",
    }


# ---- processes ------------------------------------------------------------------------------


def _member_dir(settings: Settings, name: str) -> Path:
    return cluster_dir(settings) / name


def _marker(settings: Settings, name: str) -> str:
    return f"{settings.home}:{name}"


def _is_member(settings: Settings, name: str, pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and f"{MARKER}={_marker(settings, name)}".encode() in environ


def members(settings: Settings) -> list[Member]:
    """Every member with its ports and its pid while it runs."""
    state = _load_state(settings)
    pids = state.get("pids", {})
    ports = state.get("ports", {})
    return [
        Member(
            name,
            ports.get(name, {}),
            pids[name] if name in pids and _is_member(settings, name, pids[name]) else None,
        )
        for name in member_names()
    ]


def _spawn(
    settings: Settings, name: str, command: list[str], env: dict[str, str] | None = None
) -> int:
    directory = _member_dir(settings, name)
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **(env or {}), MARKER: _marker(settings, name)}
    with (directory / "logs" / "stdout.log").open("ab") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            cwd=directory,
            start_new_session=True,  # outlives the CLI; a Ctrl-C in its terminal does not reach it
        )
    return process.pid


def _wait_for_port(
    settings: Settings, name: str, pid: int, port: int, timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(HOST, port):
        _reap(pid)
        if not _is_member(settings, name, pid):
            raise ClusterError(f"{name} exited while starting:\n{log_tail(settings, name)}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{name} did not answer on {HOST}:{port} within {timeout:.0f} s")
        time.sleep(0.2)


def log_tail(settings: Settings, name: str, lines: int = 30) -> str:
    texts = []
    for path in sorted((_member_dir(settings, name) / "logs").glob("*")):
        if path.is_file():
            texts += [f"== {path}", *path.read_text(errors="replace").splitlines()[-lines:]]
    return "\n".join(texts)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(settings: Settings, name: str, sig: int = signal.SIGTERM, timeout: float = 60.0) -> bool:
    """Stop one member (SIGKILL: as a crash would); True when it was running."""
    state = _load_state(settings)
    pid = state.get("pids", {}).get(name)
    if pid is None or not _is_member(settings, name, pid):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while _is_member(settings, name, pid):
        _reap(pid)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    return True


def down(settings: Settings, forget_ports: bool = False) -> list[str]:
    """Stop every member this home started, the clients of Kafka first; the names stopped.
    With `forget_ports` the next `up` chooses new ports."""
    stopped = [name for name in reversed(member_names()) if stop(settings, name)]
    state = _load_state(settings)
    state.pop("pids", None)
    if forget_ports:
        state.pop("ports", None)
    if state:
        _save_state(settings, state)
    return stopped


# ---- up -------------------------------------------------------------------------------------


def up(settings: Settings) -> dict[str, str]:
    """Start every member that is not running; the endpoints of the cluster."""
    check_prerequisites(need_maven=False)
    if not fetch.fetched(settings):
        raise ClusterError(
            "the cluster is not fetched; run `make cluster-up` or `skillstream cluster fetch`"
        )
    state = _load_state(settings)
    ports = _ports(state)
    state.setdefault("kafka_cluster_id", new_cluster_id())
    _save_state(settings, state)
    running = {member.name for member in members(settings) if member.pid is not None}
    # Started a group at a time, then waited for: a KRaft broker answers only once a quorum of
    # its controllers (two of the three) runs.
    groups = [
        [f"kafka-{node}" for node in KAFKA_NODES],
        ["jobmanager"],
        [f"taskmanager-{n}" for n in TASK_MANAGERS],
        ["job-server"],
    ]
    for group in groups:
        waiting = []
        for name in group:
            if name in running:
                continue
            _check_ports_free(name, ports[name])
            pid, ready_port = STARTERS[_kind(name)](settings, state, name)
            state.setdefault("pids", {})[name] = pid
            _save_state(settings, state)
            waiting.append((name, pid, ready_port))
        for name, pid, ready_port in waiting:
            if ready_port:
                _wait_for_port(settings, name, pid, ready_port)
        if group[0].startswith("kafka"):
            _create_topics(settings, state)
    _wait_for_task_managers(settings, state)
    return endpoints(settings)


def _check_ports_free(name: str, ports: dict[str, int]) -> None:
    taken = [f"{HOST}:{port}" for port in ports.values() if port_open(HOST, port)]
    if taken:
        raise ClusterError(
            f"cannot start {name}: {', '.join(taken)} already in use by another process; "
            "stop it, or `skillstream cluster down --forget-ports` to choose new ports"
        )


def _java(heap: str, classpath: str, main: str, *args: str) -> list[str]:
    return [
        "java",
        f"-Xmx{heap}",
        "-Xms64m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        "-cp",
        classpath,
        main,
        *args,
    ]


def _kafka_config(settings: Settings, state: dict[str, Any], name: str) -> Path:
    node = int(name.rsplit("-", 1)[1])
    ports = state["ports"]
    directory = _member_dir(settings, name)
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    voters = ",".join(f"{n}@{HOST}:{ports[f'kafka-{n}']['controller']}" for n in KAFKA_NODES)
    client, controller = ports[name]["client"], ports[name]["controller"]
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{HOST}:{client},CONTROLLER://{HOST}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{client}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(directory / "data"),
        "auto.create.topics.enable": "false",
        "default.replication.factor": str(REPLICATION),
        "min.insync.replicas": str(MIN_IN_SYNC),
        "offsets.topic.replication.factor": str(REPLICATION),
        "transaction.state.log.replication.factor": str(REPLICATION),
        "transaction.state.log.min.isr": str(MIN_IN_SYNC),
        "share.coordinator.state.topic.replication.factor": str(REPLICATION),
        "share.coordinator.state.topic.min.isr": str(MIN_IN_SYNC),
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.ms": "-1",  # statements are the system of record for replays
    }
    return write_server_config(directory, properties)


def _kafka_java(settings: Settings, name: str, main: str, *args: str) -> list[str]:
    command = _java(KAFKA_HEAP, str(settings.kafka_libs / "*"), main, *args)
    log_config = _member_dir(settings, name) / "log4j2.properties"
    command.insert(1, f"-Dlog4j2.configurationFile={log_config}")
    return command


def _start_kafka(settings: Settings, state: dict[str, Any], name: str) -> tuple[int, int]:
    if not any(settings.kafka_libs.glob("kafka_2.13-*.jar")):
        raise ClusterError(
            f"the Kafka broker is not fetched ({settings.kafka_libs}); run `make setup`"
        )
    config = _kafka_config(settings, state, name)
    format_storage(
        _member_dir(settings, name) / "data",
        functools.partial(_kafka_java, settings, name),
        state["kafka_cluster_id"],
        config,
        f"{name}'s storage",
    )
    pid = _spawn(settings, name, _kafka_java(settings, name, "kafka.Kafka", str(config)))
    return pid, state["ports"][name]["client"]


def _create_topics(settings: Settings, state: dict[str, Any]) -> None:
    """The topics, replicated to every broker, a write acknowledged by two of them: a broker
    can be lost without losing an acknowledged statement."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from skillstream.kafka import admin, topic_specs, wait_for_broker

    on_cluster = dataclasses.replace(settings, bootstrap=bootstrap(state))
    wait_for_broker(on_cluster, timeout=60.0)
    client = admin(on_cluster)
    try:
        existing = set(client.list_topics())
        wanted = [
            NewTopic(name, partitions, REPLICATION, topic_configs={"min.insync.replicas": "2"})
            for name, partitions in topic_specs(on_cluster).items()
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                client.create_topics(wanted)
    finally:
        client.close()


def flink_conf_dir(settings: Settings) -> Path:
    return cluster_dir(settings) / "flink-conf"


def _write_flink_conf(settings: Settings, state: dict[str, Any]) -> Path:
    ports = state["ports"]["jobmanager"]
    conf = flink_conf_dir(settings)
    conf.mkdir(parents=True, exist_ok=True)
    shipped = fetch.flink_home(settings) / "conf"
    # The JVM options Flink needs on Java 17 (--add-opens ...), as Flink's own configuration
    # file gives them (under env.java.opts.all).
    shipped_config = (shipped / "config.yaml").read_text()
    java_opts = re.search(r"^\s+all: (--.*)$", shipped_config, re.MULTILINE)
    if java_opts is None:
        raise ClusterError(f"{shipped / 'config.yaml'} gives no env.java.opts.all")
    (conf / "tmp").mkdir(exist_ok=True)
    config = {
        "env.java.opts.all": java_opts.group(1),
        "jobmanager.rpc.address": HOST,
        "jobmanager.bind-host": HOST,
        "jobmanager.rpc.port": ports["rpc"],
        "rest.address": HOST,
        "rest.bind-address": HOST,
        "rest.port": ports["rest"],
        "taskmanager.host": HOST,
        "taskmanager.bind-host": HOST,
        "jobmanager.memory.process.size": JOB_MANAGER_MEMORY,
        "taskmanager.memory.process.size": TASK_MANAGER_MEMORY,
        "taskmanager.memory.managed.size": "128m",
        "taskmanager.numberOfTaskSlots": SLOTS_PER_TASK_MANAGER,
        # A job of parallelism 2 runs on both TaskManagers; after the loss of one, its retry
        # fits in the slots of the other.
        "cluster.evenly-spread-out-slots": True,
        "parallelism.default": PARALLELISM,
        "jobmanager.execution.failover-strategy": "region",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 10,
        "restart-strategy.fixed-delay.delay": "5 s",
        # A TaskManager that died is noticed in seconds, not the default 50.
        "heartbeat.interval": 2000,
        "heartbeat.timeout": 10000,
        "io.tmp.dirs": str(conf / "tmp"),
    }
    # JSON is YAML: Flink reads this as its config.yaml of flattened keys.
    (conf / "config.yaml").write_text(json.dumps(config, indent=2))
    shutil_copy(shipped / "log4j-console.properties", conf / "log4j-console.properties")
    return conf


def shutil_copy(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


def _start_flink(settings: Settings, state: dict[str, Any], name: str) -> tuple[int, int]:
    conf = _write_flink_conf(settings, state)
    script = "jobmanager.sh" if name == "jobmanager" else "taskmanager.sh"
    logs = _member_dir(settings, name) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        "FLINK_CONF_DIR": str(conf),
        "FLINK_LOG_DIR": str(logs),
        "FLINK_PID_DIR": str(_member_dir(settings, name)),
    }
    command = [str(fetch.flink_home(settings) / "bin" / script), "start-foreground"]
    pid = _spawn(settings, name, command, env)
    return pid, state["ports"]["jobmanager"]["rest"] if name == "jobmanager" else 0


def _start_job_server(settings: Settings, state: dict[str, Any], name: str) -> tuple[int, int]:
    ports = state["ports"]
    command = _java(
        JOB_SERVER_HEAP,
        str(fetch.job_server_jar(settings)),
        fetch.JOB_SERVER_MAIN,
        f"--flink-master={HOST}:{ports['jobmanager']['rest']}",
        f"--flink-conf-dir={flink_conf_dir(settings)}",
        f"--job-host={HOST}",
        f"--job-port={ports[name]['job']}",
        f"--artifact-port={ports[name]['artifact']}",
        f"--expansion-port={ports[name]['expansion']}",
        f"--artifacts-dir={_member_dir(settings, name) / 'artifacts'}",
    )
    return _spawn(settings, name, command), ports[name]["job"]


def sdk_worker_command(settings: Settings) -> Path:
    """The command each TaskManager runs for its Beam SDK worker: this interpreter (the
    project's virtual environment) running skillstream.cluster.sdk_worker."""
    script = cluster_dir(settings) / "sdk-worker"
    log = cluster_dir(settings) / "sdk-worker.log"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -m skillstream.cluster.sdk_worker "$@" >>"{log}" 2>&1\n'
    )
    script.chmod(0o755)
    return script


def _wait_for_task_managers(
    settings: Settings, state: dict[str, Any], timeout: float = 120.0
) -> None:
    """Wait until the JobManager has every TaskManager registered (its REST API says)."""
    import urllib.request

    url = f"http://{HOST}:{state['ports']['jobmanager']['rest']}/taskmanagers"
    deadline = time.monotonic() + timeout
    registered = 0
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(url, timeout=5) as response:
                registered = len(json.load(response)["taskmanagers"])
            if registered >= len(TASK_MANAGERS):
                return
        time.sleep(0.5)
    raise ClusterError(
        f"{registered} of {len(TASK_MANAGERS)} TaskManagers registered with the JobManager "
        f"within {timeout:.0f} s:\n" + log_tail(settings, "taskmanager-1")
    )


# Each kind of member: start it -> (pid, the port that answers once it is ready, or 0).
STARTERS: dict[str, Callable[[Settings, dict[str, Any], str], tuple[int, int]]] = {
    "kafka": _start_kafka,
    "jobmanager": _start_flink,
    "taskmanager": _start_flink,
    "job-server": _start_job_server,
}


# ---- the transform on the cluster -------------------------------------------------------------


def use_for_flink(settings: Settings, options: PipelineOptions) -> None:
    """Point a FlinkRunner pipeline at this home's cluster, in the options not given: its job
    server, an SDK worker started by each TaskManager (PROCESS environment, `sdk_worker.py`)
    and a parallelism of both TaskManagers.

    Several workers land at once, so the landing must be the lake's (setting `lake`): the
    DuckDB warehouse file has one writer at a time."""
    from apache_beam.options.pipeline_options import FlinkRunnerOptions, PortableOptions

    portable = options.view_as(PortableOptions)
    flink = options.view_as(FlinkRunnerOptions)
    if portable.job_endpoint is None and flink.flink_master == "[auto]":
        found = endpoints(settings)
        if not found or _pid(settings, "job-server") is None:
            raise ClusterError(
                "--runner=FlinkRunner: no cluster of this home runs (`skillstream cluster up`); "
                "or give --flink_master (and --environment_type) for a cluster of your own"
            )
        portable.job_endpoint = found["job_endpoint"]
        flink.flink_master = found["flink_master"]
        if portable.environment_type is None:
            portable.environment_type = "PROCESS"
            portable.environment_config = json.dumps({"command": str(sdk_worker_command(settings))})
    if flink.parallelism == -1:
        flink.parallelism = PARALLELISM
    if flink.parallelism > 1 and settings.lake_location is None:
        raise ClusterError(
            f"--runner=FlinkRunner with parallelism {flink.parallelism} lands from several "
            "workers at once: set SKILLSTREAM_LAKE (the lake mode, docs/scale-out.md); the "
            "DuckDB warehouse file takes one writer at a time"
        )


def _pid(settings: Settings, name: str) -> int | None:
    return next(m.pid for m in members(settings) if m.name == name)
