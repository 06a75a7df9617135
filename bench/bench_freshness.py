"""Freshness benchmark: from a statement the endpoint accepted to the published build that
the dashboard reads, under `skillstream run` with its defaults.

    python -m bench.bench_freshness [--samples 10] [--sizes demo 1000000]
                                                           (part of `make bench`)

Each size runs in a home of its own (its broker on a free port):
- demo: the demo's simulated organisation (500 learners, 90 days: roster and KPIs imported,
  statements posted to the endpoint), then `skillstream run` (build every 30 s) publishes it.
  Result: bench/results/freshness.json.
- a number of statements: bench_build_at_scale's warehouse grown in SQL to that size, its
  statements arrived in the past (only what lands later is new to the incremental models),
  and built once; then `skillstream run` starts and one statement posted to the endpoint is
  waited for until published (the pipeline warm). Result: bench/results/freshness_1m.json for
  1000000 (freshness_600k.json for 600000).
Each sample then posts one statement with an event time no other statement has, at a random
moment of the build round, and waits until the published build's freshness (`current.json`,
what the dashboard's caption shows) names it: the seconds from the endpoint's 200 to that
moment. The machine's load average is recorded before and after: the cores are shared with
whatever else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import bench_build_at_scale as at_scale
from bench.common import write_result
from skillstream import broker, warehouse
from skillstream import build as build_module
from skillstream import run as live
from skillstream import settings as settings_module
from skillstream.ingestion.kpis import source as kpis
from skillstream.ingestion.roster import source as roster

LEARNERS = 500
DAYS = 90
BUILD_EVERY = 30.0
CREDENTIALS = "bench:bench-key:bench-secret"
AUTH = ("bench-key", "bench-secret")
HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
POST_BATCH = 500
TIMEOUT = 600.0


def _settings(root: Path) -> settings_module.Settings:
    environ = {
        "SKILLSTREAM_HOME": str(root / "home"),
        "SKILLSTREAM_WAREHOUSE": str(root / "data" / "warehouse.duckdb"),
        "SKILLSTREAM_SALT": "bench-freshness",
        "SKILLSTREAM_BOOTSTRAP": f"localhost:{broker.free_port()}",
        "SKILLSTREAM_LRS_CREDENTIALS": CREDENTIALS,
    }
    return settings_module.load(environ=environ, cwd=root)


def _post(url: str, statements: list[dict[str, Any]]) -> None:
    response = requests.post(url, json=statements, auth=AUTH, headers=HEADERS, timeout=120)
    response.raise_for_status()


def _published_event_at(settings: settings_module.Settings) -> str | None:
    published = live.builds(settings)["published"]
    return published["newest_event_at"] if published else None


def _wait_published(settings: settings_module.Settings, event_at: datetime) -> float:
    """Poll what the dashboard reads until the published build's freshness is `event_at`."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        newest = _published_event_at(settings)
        if newest is not None and datetime.fromisoformat(newest) >= event_at:
            return time.monotonic()
        time.sleep(0.1)
    raise TimeoutError(f"no published build holds the statement of {event_at} after {TIMEOUT} s")


def _statement(event_at: datetime) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:learner00001@acme.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://lms.acme.example/courses/data-literacy"},
        "timestamp": event_at.isoformat(timespec="milliseconds") + "Z",
    }


def _organisation(settings: settings_module.Settings, root: Path) -> list[dict[str, Any]]:
    subprocess.run(
        [
            *live.cli_command("simulate"),
            *("--learners", str(LEARNERS), "--days", str(DAYS)),
            *("--out", str(root / "statements.ndjson")),
        ],
        env={**os.environ, **settings.as_env()},
        check=True,
        capture_output=True,
    )
    roster.load(settings, path=root / "roster.csv")
    kpis.load(settings, path=root / "kpis.csv")
    lines = (root / "statements.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines]


def measure(settings: settings_module.Settings, url: str, samples: int) -> list[float]:
    seconds = []
    for _ in range(samples):
        time.sleep(random.uniform(0, BUILD_EVERY))  # anywhere in the build round
        now = datetime.now(UTC).replace(tzinfo=None)
        # to the millisecond, as the statement's timestamp carries it
        event_at = now.replace(microsecond=now.microsecond // 1000 * 1000) - timedelta(seconds=0.5)
        _post(url, [_statement(event_at)])
        accepted = time.monotonic()
        seconds.append(round(_wait_published(settings, event_at) - accepted, 2))
        print(f"  accepted -> published: {seconds[-1]} s", flush=True)
    return seconds


# The grown warehouse's statements came from a topic of their own: the run's broker starts
# empty, and its transform lands the statements topic from its beginning.
HISTORY_TOPIC = "bench.history"


def _grown(settings: settings_module.Settings, root: Path, size: int) -> dict[str, Any]:
    """bench_build_at_scale's warehouse of `size` statements, built once; its figures."""
    originals = at_scale.land_history(settings, root)
    total = at_scale.grow(settings, originals, size)
    con = warehouse.connect(settings)
    try:
        con.execute(
            "UPDATE raw.ingest_offsets SET topic = ? WHERE topic = ?",
            [HISTORY_TOPIC, settings.statements_topic],
        )
    finally:
        con.close()
    start = time.perf_counter()
    first = build_module.build(settings, quiet=True, unit_tests=False)
    if not first.is_published:
        raise RuntimeError(f"the first build was held back: {first.failures[:5]}")
    first_seconds = round(time.perf_counter() - start, 1)
    print(f"first build of {total:,} statements: {first_seconds} s", flush=True)
    return {"statements": total, "grown_in_sql": True, "first_build_seconds": first_seconds}


def _timestamp(statement: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(statement["timestamp"].rstrip("Z"))


def measure_size(size: int | None, samples: int) -> dict[str, Any]:
    """The freshness samples under `skillstream run`, at the demo's size (`size` None) or over
    a warehouse grown to `size` statements; the result to record."""
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as tmp:
        root = Path(tmp)
        settings = _settings(root)
        broker.fetch(settings)
        if size is None:
            first = _organisation(settings, root)
            facts: dict[str, Any] = {"learners": LEARNERS, "statements": len(first)}
        else:  # one statement first: the run's transform and build warm
            facts = _grown(settings, root, size)
            first = [_statement(datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1))]
        serve_port, dashboard_port = broker.free_port(), broker.free_port()
        command = [*live.cli_command("run"), "--serve-port", str(serve_port)]
        command += ["--dashboard-port", str(dashboard_port), "-q"]
        run = subprocess.Popen(command, env={**os.environ, **settings.as_env()})
        try:
            while not broker.port_open("localhost", serve_port):
                time.sleep(0.5)
            url = f"http://localhost:{serve_port}/xapi/statements"
            for start in range(0, len(first), POST_BATCH):
                _post(url, first[start : start + POST_BATCH])
            _wait_published(settings, max(_timestamp(s) for s in first))
            load_before = os.getloadavg()
            seconds = measure(settings, url, samples)
            load_after = os.getloadavg()
        finally:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=180)
    ordered = sorted(seconds)
    return {
        **facts,
        "build_every_seconds": BUILD_EVERY,
        "samples": len(seconds),
        "accepted_to_published_seconds": {
            "p50": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max": ordered[-1],
            "each": seconds,
        },
        "load_average_1_5_15": {"before": load_before, "after": load_after},
        "note": "one statement at a random moment of the build round, from the endpoint's 200 "
        "to current.json naming it; `skillstream run` with its defaults on the shared 2-core "
        "machine",
    }


def _size(text: str) -> int | None:
    """`demo` (None) or a number of statements (the grown warehouse holds at least bench_marts'
    organisation, ~462k, whatever the number)."""
    if text == "demo":
        return None
    try:
        size = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: 'demo' or a number of statements") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of statements above 0")
    return size


def result_area(size: int | None) -> str:
    """freshness (the demo's size), freshness_1m, freshness_600k, freshness_2500000."""
    if size is None:
        return "freshness"
    if size % 1_000_000 == 0:
        return f"freshness_{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"freshness_{size // 1_000}k"
    return f"freshness_{size}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument(
        "--sizes", type=_size, nargs="+", default=[None, 1_000_000], metavar="demo|STATEMENTS"
    )
    args = parser.parse_args(argv)
    random.seed(7)
    for size in args.sizes:
        result = measure_size(size, args.samples)
        path = write_result(result_area(size), result)
        print(json.dumps(result["accepted_to_published_seconds"]), f"-> {path}", flush=True)


if __name__ == "__main__":
    main()
