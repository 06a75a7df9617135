"""The scheduled build at scale: 100k new statements over a 10M-statement warehouse.

    python -m bench.bench_build_at_scale [--statements 10000000] [--increment 100000]

Generating and landing 10M statements through the simulator and the transform would take
most of an hour, so the warehouse is grown in SQL: bench_marts' simulated organisation
(5,000 learners, 90 days, ~462k statements, landed with the pipeline's own functions) is
copied into raw.statements until it holds --statements, each copy a new set of learners
(learner_id: SHA-256 of the id and the copy's number, 64 hex digits like a salted id) with new
statement ids, and raw.ingest_offsets moved past them as a transform would. A first
`skillstream build` models it all. Then --increment statements land (the newest statements
again, a day later, new ids, through the same SQL) and the scheduled
`skillstream build --no-unit-tests` runs, timed by phase as in bench_marts (dbt's start and
parse, models, data tests, the slowest models, the gate, the publish). Wall-clock seconds on
the shared 2-core machine, its load average recorded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import bench_marts
from bench.common import write_result
from skillstream import build as build_module
from skillstream import settings as settings_module
from skillstream import warehouse

COPY_SQL = """
INSERT INTO raw.statements
SELECT * REPLACE (
    {statement_id} AS statement_id,
    {learner_id} AS learner_id,
    occurred_at + {shift} AS occurred_at,
    kafka_offset + $offset AS kafka_offset,
    current_timestamp::TIMESTAMP AS landed_at,
    {id_key} AS id_key
)
FROM raw.statements
WHERE kafka_offset < $originals {newest}
"""


def _copy(con: Any, originals: int, offset: int, copy: int, newest: int | None = None) -> int:
    """Append one copy of the originals (or of the `newest` of them, a day later) as new
    statements at Kafka offsets from `offset`; the statements copied. `stored_at` stays: it
    is when the originals landed (the simulator's statements carry no `stored`), and a day
    later would lie in the future, which the gate refuses."""
    new_id = f"md5(statement_id || '-{copy}')::UUID::VARCHAR"
    sql = COPY_SQL.format(
        statement_id=new_id,
        learner_id="learner_id" if newest else f"sha256(learner_id || '-{copy}')",
        shift="INTERVAL 1 DAY" if newest else "INTERVAL 0 DAY",
        id_key=warehouse.id_key(new_id),
        newest=f"ORDER BY kafka_offset DESC LIMIT {newest}" if newest else "",
    )
    before = con.execute("SELECT count(*) FROM raw.statements").fetchone()[0]
    con.execute(sql, {"offset": offset, "originals": originals})
    added = con.execute("SELECT count(*) FROM raw.statements").fetchone()[0] - before
    con.execute(
        "UPDATE raw.ingest_offsets SET next_offset = (SELECT max(kafka_offset) + 1 FROM "
        "raw.statements), updated_at = current_timestamp::TIMESTAMP"
    )
    return int(added)


def _grow(settings: settings_module.Settings, originals: int, target: int) -> int:
    con = warehouse.connect(settings)
    try:
        total, copy = originals, 0
        while total < target:
            copy += 1
            total += _copy(con, originals, offset=total, copy=copy)
            print(f"  {total:,} statements", flush=True)
        return total
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=10_000_000)
    parser.add_argument("--increment", type=int, default=100_000)
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-build-at-scale-") as tmp:
        root = Path(tmp)
        settings = settings_module.load(
            environ={
                "SKILLSTREAM_HOME": f"{root}/home",
                "SKILLSTREAM_WAREHOUSE": f"{root}/warehouse.duckdb",
                "SKILLSTREAM_SALT": "bench",
            },
            cwd=root,
        )
        statements = bench_marts.organisation(settings, root)
        bench_marts._land(settings, statements, 0)
        originals = len(statements)
        start = time.perf_counter()
        total = _grow(settings, originals, args.statements)
        grow_seconds = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        first = build_module.build(settings, quiet=True, unit_tests=False)
        first_seconds = round(time.perf_counter() - start, 1)
        if not first.is_published:
            raise RuntimeError(f"the first build was held back: {first.failures[:5]}")
        print(f"first build of {total:,} statements: {first_seconds} s", flush=True)
        con = warehouse.connect(settings)
        try:
            added = _copy(con, originals, offset=total, copy=0, newest=args.increment)
        finally:
            con.close()
        load_before_increment = os.getloadavg()
        increment = bench_marts._timed_skillstream_build(settings)
        print(f"build of {added:,} new statements: {increment}", flush=True)
    result = {
        "statements": total,
        "statements_in_increment": added,
        "grow_in_sql_seconds": grow_seconds,
        "first_build_seconds": first_seconds,
        "increment_build_seconds": increment,
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "load_average_before_increment": [round(x, 2) for x in load_before_increment],
        "note": "the scheduled `skillstream build --no-unit-tests` (dbt build, gate, publish) "
        "after --increment new statements, on the shared 2-core development machine",
    }
    print(write_result("build_at_scale", result))


if __name__ == "__main__":
    main()
