"""Each dashboard page's queries on a warehouse of 10M statements made by the simulator.

    python -m bench.bench_dashboard [--statements N] [--rebuild]     (part of `make bench`)

The warehouse is made the way a user's is, except Kafka: `skillstream simulate` writes the
statements of an organisation of N / 83 learners (about 83 statements each), with its roster
and KPIs, which `skillstream roster import` and `kpis import` load; the statements are
normalised and landed by the transform's own steps (`normalise_chunk_table` on the worker pool,
`land_batch`, in batches, as the Beam pipeline runs them per Kafka batch) read from the file
instead of the broker, since landing 10M statements through the local broker takes over an
hour on this machine (bench_transform measures that path); then `skillstream build` runs dbt,
the Great Expectations gate and publishes. The warehouse is kept under
SKILLSTREAM_HOME/bench/dashboard-<N> and reused by the next run (`--rebuild` to make it anew).

Timed per page: every query the page runs (the sidebar's filter options included) plus the
Python the page does on the results (intervals, bootstrap, ROI recomputation), without
Streamlit's rendering; Data quality and Pipeline health read the live warehouse. Unfiltered,
one team and one role chosen. Target: under 1 s per page.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bench.common import peak_rss_mib, write_result
from skillstream import settings as settings_module
from skillstream import stats, warehouse
from skillstream.dashboards import data, figures, roi, views
from skillstream.dashboards.suppression import Privacy
from skillstream.quality.publish import read_status
from skillstream.transforms.land import land_batch
from skillstream.transforms.native_bridge import normalise_chunk_table
from skillstream.transforms.pools import worker_pool
from skillstream.transforms.records import NormalisedBatch

TARGET_STATEMENTS = 10_000_000
STATEMENTS_PER_LEARNER = 83  # the default simulated organisation writes 83-84 per learner
BATCH = 20_000
TOPIC = "bench.simulated-file"  # the offsets row says where these statements came from
CLI = (sys.executable, "-m", "skillstream.cli")


def _cli(settings: settings_module.Settings, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([*CLI, *args], env=settings.child_env(), check=True, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def _batches(path: Path, size: int) -> Iterator[tuple[int, list[tuple[int, bytes, str, int]]]]:
    received_ms = int(time.time() * 1000)
    offset, records = 0, []
    with path.open("rb") as lines:
        for line in lines:
            records.append((offset, line.rstrip(b"\n"), "simulator", received_ms))
            offset += 1
            if len(records) == size:
                yield offset - len(records), records
                records = []
    if records:
        yield offset - len(records), records


def land_file(settings: settings_module.Settings, path: Path) -> dict[str, int]:
    """Normalise and land an NDJSON file with the transform's steps; one batch normalised on
    the worker pool while the one before it lands."""
    salt = settings.learner_salt()
    workers = settings.transform_workers
    pool = worker_pool(workers)
    totals: dict[str, int] = {}

    def submit(records: list[tuple]) -> list[concurrent.futures.Future]:
        size = -(-len(records) // workers)
        return [
            pool.submit(normalise_chunk_table, records[i : i + size], 0, salt)
            for i in range(0, len(records), size)
        ]

    def land(con: duckdb.DuckDBPyConnection, start: int, n: int, futures: list) -> None:
        batch = NormalisedBatch(TOPIC, 0, start, start + n)
        tables = []
        for future in futures:
            rows, rejects = future.result()
            tables.append(rows)
            batch.rejects.extend(rejects)
        batch.rows = pa.concat_tables(tables)
        for name, value in land_batch(con, batch, salt=salt).items():
            totals[name] = totals.get(name, 0) + value

    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        pending: tuple[int, int, list] | None = None
        for start, records in _batches(path, BATCH):
            submitted = (start, len(records), submit(records))
            if pending is not None:
                land(con, *pending)
            pending = submitted
        if pending is not None:
            land(con, *pending)
    finally:
        con.close()
    return totals


def make_warehouse(settings: settings_module.Settings, statements: int) -> dict[str, Any]:
    """Simulate, import, land and build; seconds of each step."""
    out = settings.home / "simulated" / "statements.ndjson"
    learners = max(1, round(statements / STATEMENTS_PER_LEARNER))
    steps: dict[str, Any] = {"learners": learners}
    steps["simulate_s"] = _cli(settings, "simulate", "--learners", str(learners), "--out", str(out))
    steps["roster_import_s"] = _cli(settings, "roster", "import", str(out.with_name("roster.csv")))
    steps["kpis_import_s"] = _cli(settings, "kpis", "import", str(out.with_name("kpis.csv")))
    started = time.perf_counter()
    steps["landed"] = land_file(settings, out)
    steps["land_s"] = round(time.perf_counter() - started, 1)
    steps["land_statements_per_s"] = round(steps["landed"].get("landed", 0) / steps["land_s"])
    out.unlink()  # about 1.2 KB per statement; the warehouse holds them now
    steps["build_s"] = _cli(settings, "build", "-q")
    return steps


def warehouse_size(settings: settings_module.Settings) -> dict[str, Any]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        counts = {
            f"{schema}.{table}": con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall()[
                0
            ][0]
            for schema in ("raw", "marts")
            for table in warehouse.table_names(con, schema)
        }
    finally:
        con.close()
    return {"rows": counts, "bytes": settings.warehouse.stat().st_size}


def page_workloads(
    build: figures.Published, filters: figures.Filters
) -> dict[str, Callable[[], Any]]:
    """What each page asks of the warehouse (and computes from it), as the page does it."""
    privacy = Privacy(k=5)

    def overview() -> None:
        data.filter_options(build)
        views.overview(build, filters, privacy)

    def cohorts() -> None:
        data.filter_options(build)
        views.cohorts(build, filters, privacy)
        subjects = views.cohorts_by_subject(build, filters, privacy).skills.values
        days = subjects.dropna(subset=["days_to_competency"])
        for _, group in days.groupby("skill_id"):
            by_cohort = group.set_index("cohort")["days_to_competency"]
            if {"pilot", "control"} <= set(by_cohort.index):
                stats.bootstrap_median_difference(by_cohort["pilot"], by_cohort["control"], seed=0)
        views.comparison(build, privacy)

    def capability() -> None:
        data.filter_options(build)
        matrix = views.capability(build, filters, privacy).values
        if not matrix.empty:
            views.drill(build, filters, str(matrix["skill_id"].iloc[0]), "role", privacy)

    def engagement() -> None:
        data.filter_options(build)
        views.engagement(build, filters, privacy)

    def health() -> None:
        # both pages read the live warehouse's operational facts (cached 30 s by the app)
        data.warehouse_facts.clear()
        data.warehouse_facts()
        read_status(settings_module.load())

    def roi_page() -> None:
        quarter = figures.quarters(build)[-1]
        shown = views.roi(build, quarter, privacy).values
        assumptions = figures.roi_assumptions(build)
        numeric = {
            r.name: float(r.numeric_value)
            for r in assumptions.itertuples()
            if r.numeric_value == r.numeric_value and r.numeric_value is not None
        }
        for row in figures.roi_components(shown):
            roi.compute_roi(row, numeric, numeric)
            roi.sensitivity(row, numeric, numeric)

    return {
        "overview": overview,
        "cohorts": cohorts,
        "capability": capability,
        "engagement": engagement,
        "roi": roi_page,
        "data_quality_and_pipeline_health": health,
    }


def time_pages(build: figures.Published, filters: figures.Filters, runs: int) -> dict[str, Any]:
    results = {}
    for name, workload in page_workloads(build, filters).items():
        seconds = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            workload()
            seconds.append(time.perf_counter() - started)
        first, warm = seconds[0], seconds[1:]
        results[name] = {
            "first_s": round(first, 3),
            "median_s": round(statistics.median(warm), 3),
            "max_s": round(max(warm), 3),
            "under_1s": max(warm) < 1.0,
        }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=TARGET_STATEMENTS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="make the warehouse anew")
    args = parser.parse_args(argv)
    home = settings_module.load().home / "bench" / f"dashboard-{args.statements}"
    environ = {
        **os.environ,
        "SKILLSTREAM_HOME": str(home),
        "SKILLSTREAM_WAREHOUSE": str(home / "warehouse.duckdb"),
        "SKILLSTREAM_SALT": "bench",
    }
    settings = settings_module.load(environ=environ, cwd=home)
    os.environ.update(settings.as_env())  # the dashboard's data layer reads the settings
    current, _ = read_status(settings)
    made_record = home / "made.json"  # how the kept warehouse was made, for the next runs
    if args.rebuild or current is None or not current.get("snapshot"):
        for path in (settings.warehouse, settings.warehouse.with_suffix(".duckdb.wal")):
            path.unlink(missing_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        made = make_warehouse(settings, args.statements)
        made_record.write_text(json.dumps(made, indent=2))
        current, _ = read_status(settings)
    else:
        made = {
            "reused": True,
            **(json.loads(made_record.read_text()) if made_record.exists() else {}),
        }
    if current is None or not current.get("snapshot"):
        raise SystemExit(f"the build of the bench warehouse was not published: see {home}")
    build = figures.Published(
        build_id=current["build_id"],
        built_at=current["finished_at"],
        snapshot=Path(current["snapshot"]),
        newest_build_id=None,
        newest_is_published=True,
        newest_failures=[],
    )
    team = figures.query(build, "SELECT min(team) AS team FROM marts.learner_programs")["team"][0]
    role = figures.query(build, "SELECT min(role) AS role FROM marts.learner_programs")["role"][0]
    unfiltered = time_pages(build, figures.Filters(), args.runs)
    one_team = time_pages(build, figures.Filters({"team": (str(team),)}), args.runs)
    one_role = time_pages(build, figures.Filters({"role": (str(role),)}), args.runs)
    pages = [*unfiltered.values(), *one_team.values(), *one_role.values()]
    path = write_result(
        "dashboard",
        {
            "note": "Each page's queries and computations (no rendering) on a warehouse of "
            "simulated statements landed by the transform's steps and built by `skillstream "
            "build` (see the module docstring). First run of each page (first_s, includes "
            f"opening the snapshot), then {args.runs} timed runs (median_s, max_s).",
            "statements_asked": args.statements,
            "made": made,
            "made_at": current["finished_at"],
            "warehouse": warehouse_size(settings),
            "target_s_per_page": 1.0,
            "all_pages_under_1s": all(p["under_1s"] for p in pages),
            "unfiltered": unfiltered,
            "one_team_filter": one_team,
            "one_role_filter": one_role,
            "peak_rss_mib": peak_rss_mib(),
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
