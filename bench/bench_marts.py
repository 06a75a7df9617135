"""dbt benchmarks: the marts on a simulated organisation, full and incremental.

    python -m bench.bench_marts        (part of `make bench`)

The simulator's statements are normalised and landed with the pipeline's own functions
(transforms.normalise, transforms.land; no Kafka in between, which bench_ingestion covers),
the roster imported, then: a first `dbt build` (everything, with data and unit tests), an
incremental `dbt build` after another day of statements landed, and a
`dbt build --full-refresh` of the same data. Wall-clock seconds of the dbt process, which
shares the cores with whatever else runs on the machine.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import write_result
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


def _timed_build(settings: settings_module.Settings, *args: str) -> float:
    start = time.perf_counter()
    result = run_dbt(settings, "build", *args, quiet=True)
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-4000:])
    return round(time.perf_counter() - start, 1)


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        settings = settings_module.load(
            environ={
                "SKILLSTREAM_HOME": f"{root}/home",
                "SKILLSTREAM_WAREHOUSE": f"{root}/warehouse.duckdb",
                "SKILLSTREAM_SALT": "bench",
            },
            cwd=Path(root),
        )
        people, statements_iter = simulate(LEARNERS, DAYS, SEED)
        statements = sorted(statements_iter, key=lambda s: s["timestamp"])
        # the increment: the statements of the last week
        cut = (
            datetime.fromisoformat(statements[-1]["timestamp"]) - timedelta(days=INCREMENT_DAYS)
        ).isoformat()
        earlier = [s for s in statements if s["timestamp"] < cut]
        later = [s for s in statements if s["timestamp"] >= cut]
        roster = Path(root) / "roster.csv"
        write_roster(people, roster)
        imported = parse_roster(roster, settings.learner_salt())
        con = warehouse.connect(settings)
        try:
            warehouse.ensure_raw_schema(con)
            con.executemany("INSERT INTO raw.roster VALUES (?, ?, ?, ?, ?, ?, ?, ?)", imported.rows)
        finally:
            con.close()
        _land(settings, earlier, 0)
        first = _timed_build(settings)
        _land(settings, later, len(earlier))
        incremental = _timed_build(settings)
        full_refresh = _timed_build(settings, "--full-refresh")
    result = {
        "learners": LEARNERS,
        "statements": len(statements),
        "statements_in_increment": len(later),
        "dbt_build_seconds": {
            "first": first,
            "incremental": incremental,
            "full_refresh": full_refresh,
        },
        "note": "wall clock of `dbt build` (models, data tests, unit tests) on the shared "
        "2-core development machine",
    }
    print(result)
    print(write_result("marts", result))


if __name__ == "__main__":
    main()
