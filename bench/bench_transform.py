"""Transform benchmark: Kafka -> Beam -> DuckDB against DuckDB's own JSON reader.

    python -m bench.bench_transform [--statements N]      (part of `make bench`, N = 1,000,000)

One generated file of N simulated statements (about 1 KB each), in one run:

(a) yardstick: DuckDB's `read_ndjson_objects` of the file into columns comparable to
    `raw.statements` (id, salted learner hash, verb, object, type, parent, grouping, score,
    success, completion, duration, timestamp), 2 threads;
(b) `skillstream ingest file` -> Kafka (a real single-node broker of its own);
(c) `skillstream transform --until-caught-up` Kafka -> DuckDB: statements/s, c/a, peak RSS,
    once with the compiled normaliser (where it is built) and once with the Python normaliser
    alone (`SKILLSTREAM_NATIVE=0`), each into a warehouse of its own, with the CPU seconds
    the machine spent busy meanwhile (per statement: the cost of the work, whatever the wall
    time). A virtual machine's speed can drift by up to 2x over minutes, so (a) is measured
    again just before each (c) run and c/a is taken against that adjacent yardstick; the
    ratio against the first (a) is recorded too;
(d) `skillstream transform --follow` at light load (200 statements/s for 20 s): freshness,
    Kafka record timestamp -> `landed_at`, p50/p95, of a follower whose warehouse has caught
    up with the topic first (what a running pipeline sees). `--only-follow` measures (d)
    alone (the topic gets the file, then the follower) into the recorded result.

Broker, producer, transform and DuckDB share the machine's cores; the load average at the
start is recorded because the development machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson

from bench.common import RESULTS, machine, write_result
from skillstream import broker, kafka
from skillstream import settings as settings_module
from skillstream.settings import Settings
from skillstream.transforms.native_bridge import native_normaliser

CLI = (sys.executable, "-m", "skillstream.cli")
YARDSTICK_SQL = """
CREATE TABLE yardstick AS
SELECT
    j->>'$.id' AS statement_id,
    sha256('bench' || lower(coalesce(j->>'$.actor.mbox', j->>'$.actor.account.homePage')))
        AS learner_id,
    j->>'$.verb.id' AS verb_id,
    j->>'$.object.id' AS object_id,
    coalesce(j->>'$.object.objectType', 'Activity') AS object_type,
    j->>'$.object.definition.type' AS object_activity_type,
    CAST(j->'$.context.contextActivities.parent[*].id' AS VARCHAR[]) AS parent_ids,
    CAST(j->'$.context.contextActivities.grouping[*].id' AS VARCHAR[]) AS grouping_ids,
    CAST(j->>'$.result.score.scaled' AS DOUBLE) AS score_scaled,
    CAST(j->>'$.result.success' AS BOOLEAN) AS success,
    CAST(j->>'$.result.completion' AS BOOLEAN) AS completion,
    j->>'$.result.duration' AS duration,
    CAST(j->>'$.timestamp' AS TIMESTAMPTZ) AS occurred_at,
    j AS statement
FROM (SELECT json AS j FROM read_ndjson_objects(?))
"""


# (c) runs: the compiled normaliser (when built), and the Python normaliser alone, to show
# what the compiled one is worth.
C_RUNS: dict[str, dict[str, str]] = {
    "compiled normaliser": {},
    "python normaliser": {"SKILLSTREAM_NATIVE": "0"},
}
# the default simulated organisation writes 83-84 statements per learner: ask for a few more
STATEMENTS_PER_LEARNER = 80


def _cli(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, *args],
        env={**os.environ, **settings.as_env(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat: all but idle,
    iowait and steal). Over a run this counts the transform's worker processes, DuckDB's
    threads and the broker alike: the work the run cost, steadier than wall time on a VM
    whose speed drifts."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _timed(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> tuple[float, float, bytes]:
    """Run a CLI command; (wall seconds, its peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    process = _cli(settings, *args, env=env)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"skillstream {' '.join(args)} exited {process.returncode}")
    return seconds, round(usage.ru_maxrss / 1024, 1), out


def yardstick(path: Path, statements: int, db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db))
    try:
        con.execute("SET threads = 2")
        start = time.perf_counter()
        con.execute(YARDSTICK_SQL, [str(path)])
        seconds = time.perf_counter() - start
        rows = con.execute("SELECT count(*) FROM yardstick").fetchone()
    finally:
        con.close()
    assert rows is not None and rows[0] == statements
    return {"seconds": round(seconds, 2), "statements_per_s": round(statements / seconds)}


def freshness(
    settings: Settings, seed: int, seconds: float = 20.0, rate: int = 200
) -> dict[str, Any]:
    """--follow at `rate` statements/s for `seconds`; Kafka timestamp -> landed_at.

    The follower's warehouse is first brought to the end of the topic (`--until-caught-up`):
    the topic already holds the runs' statements, and landing them would be counted as the
    latency of the light load. `seed` makes the statements new to every warehouse."""
    caught_up, _, _ = _timed(settings, "transform", "--until-caught-up", "-q")
    print(f"(d) the follower's warehouse caught up with the topic in {caught_up:.1f} s", flush=True)
    follow = _cli(settings, "transform", "--follow", "--interval", "0.5", "-q")
    time.sleep(5)  # start-up: the first round lands nothing new
    source = Path(settings.home) / f"light-{seed}.ndjson"
    subprocess.run(
        [*CLI, "simulate", "--learners", "600", "--seed", str(seed), "--out", str(source)],
        env={**os.environ, **settings.as_env()},
        check=True,
        capture_output=True,
    )
    lines = source.read_bytes().splitlines()[: int(seconds * rate)]
    producer = kafka.producer(settings, linger_ms=5)
    began = time.time()
    tick = rate // 10
    for i in range(0, len(lines), tick):
        for line in lines[i : i + tick]:
            producer.send(settings.statements_topic, key=None, value=line)
        producer.flush()
        time.sleep(max(0.0, began + (i + tick) / rate - time.time()))
    producer.close()
    time.sleep(5)
    follow.send_signal(signal.SIGTERM)
    follow.wait(timeout=120)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        lags = [
            r[0]
            for r in con.execute(
                "SELECT epoch(landed_at) - epoch(kafka_timestamp) FROM raw.statements "
                "WHERE kafka_timestamp >= make_timestamp(CAST(? * 1e6 AS BIGINT))",
                [began],
            ).fetchall()
        ]
    finally:
        con.close()
    assert len(lags) == len(lines), f"{len(lags)} of {len(lines)} landed while following"
    quantiles = statistics.quantiles(lags, n=100)
    return {
        "statements": len(lags),
        "rate_per_s": rate,
        "p50_seconds": round(quantiles[49], 2),
        "p95_seconds": round(quantiles[94], 2),
        "max_seconds": round(max(lags), 2),
    }


def only_follow(
    settings: Settings, path: Path, statements: int, load_at_start: tuple[float, ...]
) -> None:
    """(d) alone, after the topic got the file: recorded into the result of the last full run,
    with the machine, commit and load of its own run."""
    broker.up(settings)
    try:
        kafka.ensure_topics(settings)
        _timed(settings, "ingest", "file", str(path))
        d = freshness(settings, seed=9)
    finally:
        broker.down(settings)
    d |= {
        "topic_statements_before": statements,
        "machine": machine(),
        "load_average_at_start": [round(x, 2) for x in load_at_start],
    }
    print(f"(d) --follow freshness: {d}", flush=True)
    recorded = RESULTS / "transform.json"
    result = json.loads(recorded.read_text())
    result["d_follow_freshness"] = d
    recorded.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {recorded}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--only-follow",
        action="store_true",
        help="Measure (d) alone, on a topic of --statements, into the recorded result.",
    )
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as tmp:
        root = Path(tmp)
        settings = settings_module.load(
            environ={
                "SKILLSTREAM_HOME": str(root / "home"),
                "SKILLSTREAM_WAREHOUSE": str(root / "warehouse.duckdb"),
                "SKILLSTREAM_BOOTSTRAP": f"localhost:{broker.free_port()}",
                "SKILLSTREAM_SALT": "bench",
            },
            cwd=root,
        )
        path = root / "statements.ndjson"
        subprocess.run(
            [
                *CLI,
                "simulate",
                "--learners",
                str(max(1, args.statements // STATEMENTS_PER_LEARNER)),
                "--out",
                str(path),
            ],
            env={**os.environ, **settings.as_env()},
            check=True,
            capture_output=True,
        )
        statements = sum(1 for _ in path.open("rb"))
        print(f"{statements} statements, {path.stat().st_size / 1e6:.0f} MB", flush=True)
        if args.only_follow:
            only_follow(settings, path, statements, load_at_start)
            return
        a = yardstick(path, statements, root / "yardstick.duckdb")
        print(f"(a) DuckDB read_ndjson: {a}", flush=True)
        broker.up(settings)
        try:
            kafka.ensure_topics(settings)
            seconds, rss, _ = _timed(settings, "ingest", "file", str(path))
            b = {"seconds": round(seconds, 1), "statements_per_s": round(statements / seconds)}
            print(f"(b) ingest file -> Kafka: {b}", flush=True)
            extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
            c: dict[str, dict[str, Any]] = {}
            adjacent_a: dict[str, dict[str, Any]] = {}
            for run_name, env in C_RUNS.items():
                reading = settings.with_overrides(warehouse=root / f"warehouse-{run_name}.duckdb")
                adjacent_a[run_name] = yardstick(
                    path, statements, root / f"yardstick-{run_name}.duckdb"
                )
                print(f"(a) again, before (c) {run_name}: {adjacent_a[run_name]}", flush=True)
                busy = _busy_cpu_seconds()
                seconds, rss, out = _timed(
                    reading, "transform", "--until-caught-up", "-q", *extra, env=env
                )
                busy = _busy_cpu_seconds() - busy
                counters = orjson.loads(out)
                assert counters["statements_landed"] == statements, counters
                c[run_name] = {
                    "normaliser": "python" if env else "compiled, Python for what it declines",
                    "seconds": round(seconds, 1),
                    "statements_per_s": round(statements / seconds),
                    "machine_cpu_seconds": round(busy, 1),
                    "machine_cpu_us_per_statement": round(busy / statements * 1e6, 1),
                    "peak_rss_mib": rss,
                    "batch_size": args.batch_size or settings.transform_batch_size,
                    "land_rows": settings.transform_land_rows,
                }
                print(f"(c) transform --until-caught-up, {run_name}: {c[run_name]}", flush=True)
            following = settings.with_overrides(warehouse=root / "warehouse-follow.duckdb")
            d = freshness(following, seed=9)
            print(f"(d) --follow freshness: {d}", flush=True)
        finally:
            broker.down(settings)
    result = {
        "statements": statements,
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "a_duckdb_read_ndjson": a,
        "b_ingest_file_to_kafka": b,
        "compiled_normaliser_built": native_normaliser() is not None,
        "c_transform_until_caught_up": c,
        "a_just_before_each_c": adjacent_a,
        "c_over_a": {
            name: round(run["statements_per_s"] / adjacent_a[name]["statements_per_s"], 3)
            for name, run in c.items()
        },
        "c_over_first_a": {
            name: round(run["statements_per_s"] / a["statements_per_s"], 3)
            for name, run in c.items()
        },
        "d_follow_freshness": d,
        "bench_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(f"-> {write_result('transform', result)}")


if __name__ == "__main__":
    main()
