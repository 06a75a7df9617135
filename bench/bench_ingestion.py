"""Ingestion benchmarks: the xAPI validator, `skillstream ingest file` and `skillstream serve`
on a real broker.

    python -m bench.bench_ingestion [--statements N]   (part of `make bench`, N = 1,000,000)

validate: statements/s and µs per statement on one core, for real corpora and for the
simulator's statements (what the pipeline sees), best of several passes.
ingest_file: `skillstream ingest file` of N simulated statements (about 1.2 KB each) into a
real single-node Kafka broker (acks=all, idempotent), with the compiled module reading the
file (ingestion/intake.py) and without it (the file source's Python reader): statements/s,
and the CPU the ingest process spent per statement (the cost of the work, whatever else
runs on the machine). Target: 100,000 statements/s.
endpoint: statements/s with p50/p99 request latency at batch sizes 1 and 100, from
keep-alive clients on this machine, through a real `skillstream serve` process and the
same broker (target: 10,000 statements/s at batches of 100). Server, broker and clients
share the cores; the load average at the start of each measurement is recorded because the
development machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import requests

from bench.common import write_result
from skillstream import broker, kafka
from skillstream import settings as settings_module
from skillstream.ingestion.simulate import simulate
from skillstream.xapi.strict_json import loads
from skillstream.xapi.validate import validate_statement

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus" / "real"
CLI = (sys.executable, "-m", "skillstream.cli")
CLIENTS = 8
STATEMENTS_PER_LEARNER = 93  # what `simulate` writes per learner over its default 90 days
ENDPOINT_SECONDS = 12.0


def _per_statement(statements: list[Any], passes: int = 5) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for statement in statements:
            validate_statement(statement)
        best = min(best, time.perf_counter() - start)
    return best / len(statements)


def bench_validate() -> dict[str, Any]:
    with gzip.open(CORPUS / "ralph-potsie-statements.ndjson.gz") as handle:
        potsie_lines = handle.read().splitlines()
    potsie = [orjson.loads(line) for line in potsie_lines]
    datasim = orjson.loads((CORPUS / "datasim-tccc-dev.json").read_bytes())
    _, simulated_iter = simulate(300, 60, 7)
    simulated = list(simulated_iter)[:30_000]
    results: dict[str, Any] = {}
    for name, statements in (
        ("simulated", simulated),
        ("ralph_potsie", potsie),
        ("datasim", datasim),
    ):
        seconds = _per_statement(statements)
        results[name] = {
            "statements": len(statements),
            "avg_bytes": round(sum(len(orjson.dumps(s)) for s in statements) / len(statements)),
            "us_per_statement": round(seconds * 1e6, 2),
            "statements_per_s": round(1 / seconds),
        }
    # What the Beam transform does per record: orjson decode + rules.
    start = time.perf_counter()
    for line in potsie_lines:
        validate_statement(orjson.loads(line))
    seconds = (time.perf_counter() - start) / len(potsie_lines)
    results["ralph_potsie_decode_and_validate"] = {
        "us_per_statement": round(seconds * 1e6, 2),
        "statements_per_s": round(1 / seconds),
    }
    # What `skillstream validate` does per line: strict parse (duplicate keys too) + rules.
    start = time.perf_counter()
    for line in potsie_lines:
        validate_statement(loads(line))
    seconds = (time.perf_counter() - start) / len(potsie_lines)
    results["ralph_potsie_parse_and_validate"] = {
        "us_per_statement": round(seconds * 1e6, 2),
        "statements_per_s": round(1 / seconds),
    }
    return results


def _load(url: str, body: bytes, statements_per_request: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + ENDPOINT_SECONDS
    headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}

    def client() -> None:
        session = requests.Session()
        session.auth = ("bench-key", "bench-secret")
        mine, bad = [], []
        while time.monotonic() < deadline:
            start = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=60)
            elapsed = time.perf_counter() - start
            if response.status_code == 200:
                mine.append(elapsed)
            else:
                bad.append(response.status_code)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    load = os.getloadavg()[0]
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "load_average_1m_at_start": round(load, 2),
        "statements_per_request": statements_per_request,
        "requests": len(latencies),
        "failed_requests": len(failures),
        "statements_per_s": round(len(latencies) * statements_per_request / wall),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


@contextlib.contextmanager
def _broker(root: Path) -> Iterator[tuple[settings_module.Settings, dict[str, str]]]:
    """A real single-node broker with the topics, and the environment of commands using it."""
    env = {
        "SKILLSTREAM_HOME": str(root / "home"),
        "SKILLSTREAM_WAREHOUSE": str(root / "warehouse.duckdb"),
        "SKILLSTREAM_BOOTSTRAP": f"localhost:{broker.free_port()}",
        "SKILLSTREAM_SALT": "bench",
        "SKILLSTREAM_LRS_CREDENTIALS": "bench:bench-key:bench-secret",
    }
    settings = settings_module.load(environ=env, cwd=root)
    broker.fetch(settings)
    broker.up(settings)
    try:
        kafka.ensure_topics(settings)
        yield settings, {**os.environ, **settings.as_env(), **env}
    finally:
        broker.down(settings)


def bench_ingest_file(root: Path, env: dict[str, str], statements: int) -> dict[str, Any]:
    path = root / "statements.ndjson"
    learners = max(1, statements // STATEMENTS_PER_LEARNER)
    subprocess.run(
        [*CLI, "simulate", "--learners", str(learners), "--out", str(path)],
        env=env,
        check=True,
        capture_output=True,
    )
    lines = sum(1 for _ in path.open("rb"))
    results = {
        "statements": lines,
        "megabytes": round(path.stat().st_size / 1e6),
        # the compiled module reads, parses and keys the lines (ingestion/intake.py) ...
        "compiled": _timed_ingest(path, lines, env),
        # ... or, without it, the file source's Python reader
        "python": _timed_ingest(path, lines, {**env, "SKILLSTREAM_NATIVE": "0"}),
    }
    path.unlink()
    return results


def _timed_ingest(path: Path, lines: int, env: dict[str, str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(
        [*CLI, "ingest", "file", "-q", "--restart", str(path)],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    cpu = _children_cpu_seconds() - cpu_before
    produced = orjson.loads(done.stdout.splitlines()[-1])["statements"]
    assert produced == lines, (produced, lines)
    return {
        "load_average_1m_at_start": round(load, 2),
        "seconds": round(seconds, 1),
        "statements_per_s": round(lines / seconds),
        "ingest_cpu_us_per_statement": round(cpu / lines * 1e6, 1),
    }


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_endpoint(env: dict[str, str]) -> dict[str, Any]:
    server = None
    try:
        http_port = broker.free_port()
        server = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(http_port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{http_port}/xapi/"
        for _ in range(200):
            try:
                requests.get(base + "about", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        _, simulated = simulate(50, 30, 11)
        sample = list(simulated)[:100]
        for statement in sample:
            statement.pop("id", None)
        one = orjson.dumps(sample[0])
        hundred = orjson.dumps(sample)
        _load(base + "statements", one, 1)  # warm-up: producer connected, topics known
        return {
            "clients": CLIENTS,
            "seconds_per_run": ENDPOINT_SECONDS,
            "batch_1": _with_server_cpu(server.pid, lambda: _load(base + "statements", one, 1)),
            "batch_100": _with_server_cpu(
                server.pid, lambda: _load(base + "statements", hundred, 100)
            ),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def _with_server_cpu(pid: int, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`load()`'s result with the CPU the server spent per statement accepted."""
    before = _cpu_seconds(pid)
    result = load()
    statements = result["requests"] * result["statements_per_request"]
    cpu = _cpu_seconds(pid) - before
    return {**result, "server_cpu_us_per_statement": round(cpu / max(statements, 1) * 1e6, 1)}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()
    validate = bench_validate()
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as tmp:
        root = Path(tmp)
        with _broker(root) as (_, env):
            ingest_file = bench_ingest_file(root, env, args.statements)
            print(f"ingest file: {ingest_file}", flush=True)
            endpoint = bench_endpoint(env)
    path = write_result(
        "ingestion",
        {
            "note": "validate: one core, best of 5 passes; ingest_file: the ingest process, "
            f"the broker and nothing else of ours; endpoint: server, broker and {CLIENTS} "
            "clients on the same machine. Run on the shared development machine (other "
            "engineers' tests running, see the load average); the lead re-runs make bench "
            "on a quiet one.",
            "load_average_at_start": [round(x, 2) for x in load_at_start],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "validate": validate,
            "ingest_file": ingest_file,
            "endpoint": endpoint,
        },
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
