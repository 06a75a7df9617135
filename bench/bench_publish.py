"""Publishing a build: every mart written, none changed, and one changed.

    python -m bench.bench_publish [--scale S] [--runs N]     (part of `make bench`)

Publishing fingerprints every mart in the warehouse (one scan each) and writes only the marts
whose content no published file holds (quality/publish.py). The marts here are synthetic, of
the row counts the 10M-statement warehouse's marts have (bench_dashboard's `warehouse.rows`,
times --scale), with text, integer, float, timestamp and NULL columns. Timed with
`record_build` as `skillstream build` calls it (quality.runs row, manifest, current.json,
pruning), median of --runs: the first publish (every mart written, as a build copying every
mart always would), a publish with no mart changed, and one with the largest mart changed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import write_result
from skillstream import settings as settings_module
from skillstream import warehouse
from skillstream.quality.publish import BuildRecord, new_build_id, record_build

# rows of each mart in the 10M-statement warehouse (bench/results/dashboard.json)
MART_ROWS = {
    "engagement_weekly": 379_116,
    "learner_skills": 240_964,
    "learner_programs": 120_482,
    "capability_matrix": 20_080,
    "roi_assumptions": 7,
    "cohort_comparison": 5,
    "cohort_competency": 4,
    "cohort_outcomes": 2,
    "roi_quarterly": 2,
}
LARGEST = "engagement_weekly"


def _write_mart(settings: settings_module.Settings, table: str, rows: int, seed: int) -> None:
    con = warehouse.connect(settings)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(
            f"CREATE OR REPLACE TABLE marts.{table} AS SELECT sha256(range::VARCHAR) AS learner_id,"
            " 'cohort-' || (range % 7) AS cohort, range % 53 AS week,"
            f" (hash(range, {seed}) % 1000) / 1000.0 AS score,"
            " TIMESTAMP '2026-07-01' + to_seconds(range) AS at,"
            " CASE WHEN range % 5 = 0 THEN NULL ELSE range END AS minutes"
            f" FROM range({rows})"
        )
    finally:
        con.close()


def _publish(settings: settings_module.Settings) -> tuple[float, dict[str, Any]]:
    now = datetime.now().isoformat()
    record = BuildRecord(new_build_id(), now, now, True, True, True)
    started = time.perf_counter()
    record_build(settings, record)
    return time.perf_counter() - started, record.publishing or {}


def _run(root: Path, scale: float) -> dict[str, dict[str, Any]]:
    settings = settings_module.load(
        environ={
            "SKILLSTREAM_HOME": str(root / "home"),
            "SKILLSTREAM_WAREHOUSE": str(root / "warehouse.duckdb"),
            "SKILLSTREAM_SALT": "bench",
        },
        cwd=root,
    )
    for table, rows in MART_ROWS.items():
        _write_mart(settings, table, max(1, int(rows * scale)), seed=0)
    timed = {}
    timed["every_mart_written"] = _publish(settings)
    timed["no_mart_changed"] = _publish(settings)
    _write_mart(settings, LARGEST, max(1, int(MART_ROWS[LARGEST] * scale)), seed=1)
    timed["largest_mart_changed"] = _publish(settings)
    return {case: {"s": s, "publishing": copied} for case, (s, copied) in timed.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="rows of each mart, times S")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-publish-") as root:
            runs.append(_run(Path(root), args.scale))
    cases = {
        case: {
            "median_s": round(statistics.median(run[case]["s"] for run in runs), 3),
            "max_s": round(max(run[case]["s"] for run in runs), 3),
            "tables_written": runs[-1][case]["publishing"].get("tables_written"),
        }
        for case in runs[0]
    }
    rows = {table: max(1, int(n * args.scale)) for table, n in MART_ROWS.items()}
    path = write_result(
        "publish",
        {
            "scale": args.scale,
            "runs": args.runs,
            "load_average_1m": os.getloadavg()[0],  # a shared machine: what else ran
            "mart_rows": rows,
            "publish": cases,
        },
    )
    for case, figures in cases.items():
        print(f"{case}: median {figures['median_s']} s, max {figures['max_s']} s")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
