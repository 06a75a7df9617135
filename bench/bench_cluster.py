"""Cluster benchmark: the transform on the cluster beside the single-machine path.

    python -m bench.bench_cluster [--learners N]      (part of `make bench`, N = 300)

A simulated organisation of N learners over 90 days is produced to the 3-broker Kafka of
`skillstream cluster up` (a home of its own), then `skillstream transform --until-caught-up`
lands the same topic three times, each into a store of its own:

(a) single machine: FnApiRunner into the DuckDB warehouse (the default);
(b) single machine into the lake (FnApiRunner, setting `lake`): what the lake's landing costs;
(c) the cluster: FlinkRunner (parallelism 2, a Python SDK worker per TaskManager) into the lake.

Each records statements/s and CPU per statement: the CPU seconds of the transform's process
and its children (getrusage) plus those of every cluster member (/proc/<pid>/stat, with the
children a member has reaped: a TaskManager's SDK workers), the same accounting for all three
paths (the brokers serve each of them). The machine's busy CPU (/proc/stat) is recorded too;
on a machine shared with other work it counts that work as well. The idle cluster's own CPU
(heartbeats, the brokers' housekeeping) is measured before the runs and recorded beside them.

Honest note: here every member of the cluster and the single-machine path share the same two
cores. The cluster path pays for distribution (the job server, Flink's scheduling and data
exchange, an SDK worker per TaskManager) and gets no more hardware for it; its numbers say
what that overhead costs, not how a cluster of several machines scales.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.bench_transform import _busy_cpu_seconds
from bench.common import write_result
from skillstream import cluster
from skillstream import settings as settings_module
from skillstream.settings import Settings

CLI = (sys.executable, "-m", "skillstream.cli")
IDLE_SECONDS = 20.0


def _settings(root: Path, **overrides: str) -> Settings:
    environ = {
        "SKILLSTREAM_HOME": str(root / "home"),
        "SKILLSTREAM_WAREHOUSE": str(root / "data" / "warehouse.duckdb"),
        "SKILLSTREAM_SALT": "bench",
        **{f"SKILLSTREAM_{k.upper()}": v for k, v in overrides.items()},
    }
    return settings_module.load(environ=environ, cwd=root)


def _cli(settings: Settings, *args: str) -> str:
    result = subprocess.run(
        [*CLI, *args],
        env={**os.environ, **settings.as_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"skillstream {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


def _processes_cpu(home: Settings) -> float:
    """CPU seconds of this process's reaped children (each CLI run) and of the cluster's
    members with the children they reaped."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = children.ru_utime + children.ru_stime
    for member in cluster.members(home):
        if member.pid is not None:
            fields = Path(f"/proc/{member.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _transform(settings: Settings, home: Settings, *beam_args: str) -> dict[str, Any]:
    load = os.getloadavg()[0]
    busy, own, start = _busy_cpu_seconds(), _processes_cpu(home), time.perf_counter()
    out = _cli(settings, "transform", "--until-caught-up", "-q", *beam_args)
    seconds = time.perf_counter() - start
    cpu, machine_cpu = _processes_cpu(home) - own, _busy_cpu_seconds() - busy
    counters = orjson.loads(out.strip().splitlines()[-1])
    statements = counters["records_read"]
    return {
        "statements": statements,
        "seconds": round(seconds, 1),
        "statements_per_s": round(statements / seconds),
        "cpu_s": round(cpu, 1),
        "cpu_us_per_statement": round(cpu / statements * 1e6, 1),
        "machine_busy_cpu_s": round(machine_cpu, 1),
        "load_average_at_start": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as directory:
        root = Path(directory)
        home = _settings(root / "cluster", partitions="4")
        _cli(home, "cluster", "fetch")
        start = time.perf_counter()
        up = _cli(home, "cluster", "up")
        startup = time.perf_counter() - start
        bootstrap = up.strip().splitlines()[-1].removeprefix("export SKILLSTREAM_BOOTSTRAP=")
        try:
            result = _measure(root, dataclasses.replace(home, bootstrap=bootstrap), args)
        finally:
            _cli(home, "cluster", "down")
        result["cluster_up_seconds"] = round(startup, 1)
        path = write_result("cluster", result)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    print(f"-> {path}")


def _measure(root: Path, home: Settings, args: argparse.Namespace) -> dict[str, Any]:
    _cli(home, "simulate", "--learners", str(args.learners), "--days", "90", "--to-kafka")
    own = _processes_cpu(home)
    time.sleep(IDLE_SECONDS)
    idle_cpu = (_processes_cpu(home) - own) / IDLE_SECONDS
    rss = sum(_rss_mib(m.pid) for m in cluster.members(home) if m.pid is not None)

    def lake(name: str) -> str:
        return f"sqlite:///{root / name}/catalog.db,{root / name}/warehouse"

    single = _settings(root / "single", bootstrap=home.bootstrap)
    single_lake = _settings(root / "single-lake", bootstrap=home.bootstrap, lake=lake("lake-a"))
    on_cluster = dataclasses.replace(home, lake=lake("lake-b"))
    return {
        "note": "every cluster member and the single-machine path share the same 2 cores: "
        "the cluster's figures are the cost of distribution, not a cluster's scaling",
        "cluster_idle_cpu_s_per_s": round(idle_cpu, 2),
        "cluster_rss_mib_idle": round(rss),
        "a_single_machine_duckdb": _transform(single, home),
        "b_single_machine_lake": _transform(single_lake, home),
        "c_cluster_flink_lake": _transform(on_cluster, home, "--runner=FlinkRunner"),
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
