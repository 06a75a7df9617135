"""Each dashboard page's queries on a warehouse the size of 10M simulated statements.

The base is a real published build: `skillstream demo` (the simulator, Kafka, Beam, dbt, GX)
on a small organisation. Landing and building 10M statements through the whole pipeline does
not fit the shared 2-core machine, so the bench scales that build's learner-grain marts up:
each learner, team and engagement row is copied with a new id until the marts hold as many
learners as 10M statements at the simulator's statements-per-learner. Distributions, schemas
and the SQL are the real ones; the scaled snapshot is cached under SKILLSTREAM_HOME/bench.

Timed per page: every query the page runs (the sidebar's filter options included) plus the
Python the page does on the results (intervals, bootstrap, ROI recomputation), without
Streamlit's rendering. Unfiltered and with one team chosen. Target: under 1 s per page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench.common import peak_rss_mib, write_result
from skillstream import settings as settings_module
from skillstream import stats
from skillstream.dashboards import data, roi
from skillstream.quality.publish import read_status

TARGET_STATEMENTS = 10_000_000
SCALED_TABLES = ("learner_programs", "learner_skills", "engagement_weekly", "capability_matrix")


def base_snapshot(settings: settings_module.Settings) -> tuple[Path, int]:
    """The published snapshot of a demo build and how many statements it was built from."""
    current, _ = read_status(settings)
    if current is None or not current.get("snapshot"):
        raise SystemExit(
            "no published build: run `skillstream demo --no-dashboard` with these settings first"
        )
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        (row,) = con.execute("SELECT count(*) FROM raw.statements").fetchall()
    finally:
        con.close()
    return Path(current["snapshot"]), int(row[0])


def scaled_snapshot(base: Path, base_statements: int, target: Path) -> dict[str, Any]:
    """Copy the base snapshot, its learner-grain marts replicated to TARGET_STATEMENTS."""
    factor = max(1, round(TARGET_STATEMENTS / base_statements))
    meta = target.with_suffix(".json")
    if target.exists() and meta.exists():
        cached = json.loads(meta.read_text())
        if cached["factor"] == factor and set(cached["rows"]) == set(SCALED_TABLES):
            return cached
    target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute(f"ATTACH '{base}' AS base (READ_ONLY)")  # our own path: ATTACH cannot bind
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.build AS SELECT * FROM base.meta.build")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = 'base' AND table_schema = 'marts'"
            ).fetchall()
        ]
        for table in tables:
            if table not in SCALED_TABLES:
                con.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM base.marts.{table}")
        replicas = f"range({factor}) AS r(copy)"
        con.execute(
            f"""CREATE TABLE marts.learner_programs AS
            SELECT * REPLACE (learner_id || '-' || copy AS learner_id, team || '-' || copy AS team)
            FROM base.marts.learner_programs, {replicas}"""
        )
        con.execute(
            f"""CREATE TABLE marts.learner_skills AS
            SELECT * REPLACE (learner_id || '-' || copy AS learner_id, team || '-' || copy AS team)
            FROM base.marts.learner_skills, {replicas}"""
        )
        con.execute(
            f"""CREATE TABLE marts.capability_matrix AS
            SELECT * REPLACE (team || '-' || copy AS team)
            FROM base.marts.capability_matrix, {replicas}"""
        )
        con.execute(
            f"""CREATE TABLE marts.engagement_weekly AS
            SELECT * REPLACE (team || '-' || copy AS team)
            FROM base.marts.engagement_weekly, {replicas}"""
        )
        counts = {
            t: con.execute(f"SELECT count(*) FROM marts.{t}").fetchall()[0][0]
            for t in SCALED_TABLES
        }
        con.execute("DETACH base")
    finally:
        con.close()
    facts = {
        "factor": factor,
        "base_statements": base_statements,
        "equivalent_statements": factor * base_statements,
        "rows": counts,
        "bytes": target.stat().st_size,
    }
    meta.write_text(json.dumps(facts))
    return facts


def page_workloads(build: data.Published, filters: data.Filters) -> dict[str, Callable[[], Any]]:
    """What each page asks of the warehouse (and computes from it), as the page does it."""

    def overview() -> None:
        data.filter_options(build)
        data.program_kpis_by_quarter(build, filters)
        data.skill_kpis_by_quarter(build, filters)

    def cohorts() -> None:
        data.filter_options(build)
        completion = data.completion_counts_by_cohort(build, filters)
        mastery = data.mastery_counts_by_cohort(build, filters)
        rows = completion.set_index("cohort")
        if {"pilot", "control"} <= set(rows.index):
            stats.newcombe_difference(
                int(rows.loc["pilot", "completed"]),
                int(rows.loc["pilot", "n"]),
                int(rows.loc["control", "completed"]),
                int(rows.loc["control", "n"]),
            )
        days = mastery.set_index("cohort")["days_to_competency"]
        if {"pilot", "control"} <= set(days.index):
            stats.bootstrap_median_difference(days["pilot"], days["control"], seed=0)
        data.cohort_comparison(build)

    def capability() -> None:
        data.filter_options(build)
        matrix = data.capability_by_team(build, filters)
        data.skill_drill(build, filters, str(matrix["skill_id"].iloc[0]), "role")

    def engagement() -> None:
        data.filter_options(build)
        data.engagement_by_week(build, filters)

    def completion() -> None:
        data.completion_by_cohort(build, data.programs(build), data.k_anonymity())

    def roi_page() -> None:
        quarter = data.quarters(build)[-1]
        data.roi_quarterly(build, quarter)
        assumptions = data.roi_assumptions(build)
        numeric = {
            r.name: float(r.numeric_value)
            for r in assumptions.itertuples()
            if r.numeric_value == r.numeric_value and r.numeric_value is not None
        }
        for row in data.roi_components(build, quarter):
            roi.compute_roi(row, numeric, numeric)
            roi.sensitivity(row, numeric, numeric)

    return {
        "overview": overview,
        "cohorts": cohorts,
        "capability": capability,
        "engagement": engagement,
        "completion": completion,
        "roi": roi_page,
    }


def time_pages(build: data.Published, filters: data.Filters, runs: int) -> dict[str, Any]:
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
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    settings = settings_module.load()
    base, base_statements = base_snapshot(settings)
    target = settings.home / "bench" / "dashboard-10M.duckdb"
    facts = scaled_snapshot(base, base_statements, target)
    current, _ = read_status(settings)
    assert current is not None
    build = data.Published(
        build_id=current["build_id"] + "-scaled",
        built_at=current["finished_at"],
        snapshot=target,
        newest_build_id=None,
        newest_is_published=True,
        newest_failures=[],
    )
    team = data.query(build, "SELECT min(team) AS team FROM marts.learner_programs")["team"][0]
    unfiltered = time_pages(build, data.Filters(), args.runs)
    one_team = time_pages(build, data.Filters({"team": (str(team),)}), args.runs)
    role = data.query(build, "SELECT min(role) AS role FROM marts.learner_programs")["role"][0]
    one_role = time_pages(build, data.Filters({"role": (str(role),)}), args.runs)
    path = write_result(
        "dashboard",
        {
            "note": "Each page's queries and computations (no rendering) on a published build of "
            "`skillstream demo` whose learner-grain marts are replicated to the size of "
            f"{TARGET_STATEMENTS:,} simulated statements (see the module docstring). "
            f"First run of each page (first_s, includes opening the snapshot), then {args.runs} "
            "timed runs (median_s, max_s). Run on the "
            "shared development machine with other engineers' tests running.",
            "warehouse": facts,
            "target_s_per_page": 1.0,
            "unfiltered": unfiltered,
            "one_team_filter": one_team,
            "one_role_filter": one_role,
            "peak_rss_mib": peak_rss_mib(),
        },
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
