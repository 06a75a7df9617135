"""dbt benchmarks: the marts on a simulated organisation, full and incremental.

    python -m bench.bench_marts        (part of `make bench`)

The simulator's statements are normalised and landed with the pipeline's own functions
(transforms.normalise, transforms.land; no Kafka in between, which bench_ingestion covers),
the roster imported, then: a first `dbt build` (everything, with data and unit tests), an
incremental `dbt build` after another day of statements landed, and a
`dbt build --full-refresh` of the same data. Wall-clock seconds of the dbt process, which
shares the cores with whatever else runs on the machine.

Then where the scheduled `skillstream build --no-unit-tests` spends its time
(build_breakdown), for a day of new statements and for a build forced with nothing new: dbt's
start and parse, its models and data tests (dbt's own timings, run_results.json, summed over
its threads), the slowest models and tests, the Great Expectations gate and the publish (the build
record and the published snapshot); `skillstream build` with nothing new (the inputs'
fingerprint says so: no build), a whole process as a user runs it; and a `dbt build` with the
unit tests, which only CI needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.common import write_result
from skillstream import build as build_module
from skillstream import settings as settings_module
from skillstream import warehouse
from skillstream.build import run_dbt
from skillstream.ingestion.roster import parse_roster
from skillstream.ingestion.simulate import simulate, write_roster
from skillstream.transforms.land import land_batch
from skillstream.transforms.normalise import normalise
from skillstream.transforms.records import NormalisedBatch

LEARNERS = 5000
DAYS = 90
SEED = 7
BATCH = 5000
INCREMENT_DAYS = 7


def _land(settings: settings_module.Settings, statements: list[dict[str, Any]], first: int) -> None:
    salt = settings.learner_salt()
    received = datetime.now(UTC).replace(tzinfo=None)
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        for start in range(0, len(statements), BATCH):
            chunk = statements[start : start + BATCH]
            offset = first + start
            rows = [
                normalise(s, salt, 0, offset + i, "bench", received) for i, s in enumerate(chunk)
            ]
            land_batch(
                con,
                NormalisedBatch("xapi.statements", 0, offset, offset + len(chunk), rows=rows),
            )
    finally:
        con.close()


def _land_another_day(
    settings: settings_module.Settings, statements: list[dict[str, Any]], first: int
) -> int:
    """Land the last day's statements again as a new day (new ids, a day later)."""
    last = datetime.fromisoformat(statements[-1]["timestamp"])
    day = [s for s in statements if datetime.fromisoformat(s["timestamp"]) > last - timedelta(1)]
    shifted = [
        {
            **s,
            "id": str(uuid.uuid4()),
            "timestamp": (datetime.fromisoformat(s["timestamp"]) + timedelta(1)).isoformat(),
        }
        for s in day
    ]
    _land(settings, shifted, first)
    return len(shifted)


def _timed_build(settings: settings_module.Settings, *args: str) -> float:
    start = time.perf_counter()
    result = run_dbt(settings, "build", *args, quiet=True)
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-4000:])
    return round(time.perf_counter() - start, 1)


def _dbt_results(settings: settings_module.Settings) -> dict[str, Any]:
    return dict(orjson.loads((settings.home / "dbt" / "target" / "run_results.json").read_bytes()))


def _dbt_node_seconds(results: dict[str, Any]) -> dict[str, float]:
    """dbt's own execution seconds of a run, by kind of node (model, test, unit_test; summed
    over dbt's threads), and `dbt` for its whole run as dbt timed it."""
    seconds: dict[str, float] = {}
    for result in results["results"]:
        kind = result["unique_id"].split(".", 1)[0]
        seconds[kind] = seconds.get(kind, 0.0) + result["execution_time"]
    seconds["dbt"] = results["elapsed_time"]
    return seconds


def _slowest_nodes(results: dict[str, Any], count: int) -> dict[str, float]:
    """The `count` models and data tests that took longest, by `kind.name` (dbt's seconds)."""
    nodes = [r for r in results["results"] if r["unique_id"].startswith(("model.", "test."))]
    nodes.sort(key=lambda r: r["execution_time"], reverse=True)
    # unique_id: model.<project>.<name>, test.<project>.<name>.<hash>
    return {
        ".".join(r["unique_id"].split(".")[0:3:2]): round(r["execution_time"], 2)
        for r in nodes[:count]
    }


def _timed_skillstream_build(
    settings: settings_module.Settings, slowest: int = 5
) -> dict[str, Any]:
    """One scheduled `skillstream build` (`--no-unit-tests`, as `skillstream run` builds), its
    phases timed by wrapping the functions build() calls; the `slowest` models and tests."""
    phases: dict[str, float] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    originals = {name: getattr(build_module, name) for name in BUILD_PHASES}
    try:
        for name, function in originals.items():
            setattr(build_module, name, timed(BUILD_PHASES[name], function))
        start = time.perf_counter()
        record = build_module.build(settings, quiet=True, unit_tests=False)
        total = time.perf_counter() - start
    finally:
        for name, function in originals.items():
            setattr(build_module, name, function)
    if not record.is_published:
        raise RuntimeError(f"the build was held back: {record.failures[:5]}")
    results = _dbt_results(settings)
    nodes = _dbt_node_seconds(results)
    dbt_process = phases["dbt_process"]
    breakdown = {
        "total": total,
        "dbt_process": dbt_process,
        "dbt_start_and_parse": dbt_process - nodes.pop("dbt"),
        **{f"dbt_{kind}s": seconds for kind, seconds in sorted(nodes.items())},
        "gx_gate": phases["gx_gate"],
        "publish": phases["publish"],
    }
    return {
        **{name: round(seconds, 2) for name, seconds in breakdown.items()},
        "slowest_nodes": _slowest_nodes(results, slowest),
    }


def _timed_nothing_new(settings: settings_module.Settings) -> float:
    """`skillstream build --no-unit-tests` as a user runs it (its process, start to end) when
    nothing is new since the published build: the inputs' fingerprint, then no build."""
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "skillstream.cli", "build", "-q", "--no-unit-tests"],
        env={**os.environ, **settings.as_env()},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = round(time.perf_counter() - start, 2)
    if "nothing new since build" not in completed.stdout:
        raise RuntimeError(f"a build ran with nothing new: {completed.stdout[-2000:]}")
    return seconds


# The functions `skillstream build` calls for each phase, by the phase's name.
BUILD_PHASES = {"run_dbt": "dbt_process", "run_gate": "gx_gate", "record_build": "publish"}


def organisation(
    settings: settings_module.Settings, root: Path, start: date | None = None
) -> list[dict[str, Any]]:
    """The simulated organisation from `start` (the simulator's default day when None): its
    roster imported, its statements (by time) to land."""
    people, statements = simulate(LEARNERS, DAYS, SEED, start)
    roster = root / "roster.csv"
    write_roster(people, roster)
    imported = parse_roster(roster, settings.learner_salt())
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        con.executemany("INSERT INTO raw.roster VALUES (?, ?, ?, ?, ?, ?, ?, ?)", imported.rows)
    finally:
        con.close()
    return sorted(statements, key=lambda s: s["timestamp"])


def main() -> None:
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as root:
        settings = settings_module.load(
            environ={
                "SKILLSTREAM_HOME": f"{root}/home",
                "SKILLSTREAM_WAREHOUSE": f"{root}/warehouse.duckdb",
                "SKILLSTREAM_SALT": "bench",
            },
            cwd=Path(root),
        )
        statements = organisation(settings, Path(root))
        # the increment: the statements of the last week
        cut = (
            datetime.fromisoformat(statements[-1]["timestamp"]) - timedelta(days=INCREMENT_DAYS)
        ).isoformat()
        earlier = [s for s in statements if s["timestamp"] < cut]
        later = [s for s in statements if s["timestamp"] >= cut]
        _land(settings, earlier, 0)
        first = _timed_build(settings)
        _land(settings, later, len(earlier))
        incremental = _timed_build(settings)
        full_refresh = _timed_build(settings, "--full-refresh")
        day = _land_another_day(settings, statements, len(statements))
        breakdown = {
            "new_statements": day,
            "one_day_more": _timed_skillstream_build(settings),
            "nothing_new_skipped": _timed_nothing_new(settings),
            "nothing_new_forced": _timed_skillstream_build(settings),
        }
        breakdown["nothing_new_dbt_build_with_unit_tests"] = _timed_build(settings)
    result = {
        "learners": LEARNERS,
        "statements": len(statements),
        "statements_in_increment": len(later),
        "dbt_build_seconds": {
            "first": first,
            "incremental": incremental,
            "full_refresh": full_refresh,
        },
        "build_breakdown_seconds": breakdown,
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "note": "wall clock of `dbt build` (models, data tests, unit tests) and of "
        "`skillstream build` by phase, on the shared 2-core development machine (other "
        "engineers' tests running, see the load average)",
    }
    print(result)
    print(write_result("marts", result))


if __name__ == "__main__":
    main()
