"""The scheduled build at scale: 100k new statements over a 10M-statement warehouse.

    python -m bench.bench_build_at_scale [--statements 10000000] [--increment 100000]
        [--keep DIR | --reuse DIR]

Generating and landing 10M statements through the simulator and the transform would take
most of an hour, so the warehouse is grown in SQL (grow()): bench_marts' simulated
organisation (5,000 learners, 90 days ending HISTORY_ENDS_DAYS_AGO days ago, ~462k statements,
landed with the pipeline's own functions) is copied into raw.statements until it holds
--statements, each copy a new set of learners (learner_id: SHA-256 of the id and the copy's
number, 64 hex digits like a salted id) with new statement ids, and raw.ingest_offsets moved
past them as a transform would. A warehouse of that size accumulated over months, so every
statement of it arrived (stored_at, kafka_timestamp, landed_at) ARRIVAL_DELAY after its event:
only what lands later is new to the incremental models and their lookback window. A first
`skillstream build` models it all.

Then --increment statements land now (the newest statements again, their events a day later,
new ids, through the same SQL) and the scheduled `skillstream build --no-unit-tests` runs,
timed by phase as in bench_marts (dbt's start and parse, models, data tests, the gate, the
publish) with the ten slowest models and tests; then `skillstream build -q --no-unit-tests` as
a process with nothing new since (the inputs' fingerprint, what each round of `skillstream
run` does). Wall-clock seconds on the shared 2-core machine, its load average recorded, and
peak resident memory: of each build's child processes (dbt, the gate's) and of this process
(growing and landing the increment in SQL, publishing).

--keep DIR keeps the grown and first-built warehouse (the whole scratch directory: home,
warehouse file, published snapshots) in DIR; --reuse DIR copies DIR to a scratch directory and
times the increment there, without growing or the first build, so it can be repeated. A kept
warehouse holds the incremental models as they were built: after a change to one's columns,
keep a new one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import bench_marts
from bench.common import children_peak_rss_mib, peak_rss_mib, write_result
from skillstream import build as build_module
from skillstream import settings as settings_module
from skillstream import warehouse

# The organisation's 90 days end this many days ago: beyond the models' 24 h lookback and
# within the gate's 168 h staleness limit.
HISTORY_ENDS_DAYS_AGO = 2
# How long after its event each historical statement arrived (stored, in Kafka, landed).
ARRIVAL_DELAY_MINUTES = 2
ARRIVAL_DELAY = f"INTERVAL {ARRIVAL_DELAY_MINUTES} MINUTE"
# What --keep writes beside the warehouse and --reuse reads: the grown warehouse's figures.
FACTS_FILE = "bench_build_at_scale.json"

HISTORICAL_ARRIVAL_SQL = f"""
UPDATE raw.statements SET
    stored_at = least(occurred_at + {ARRIVAL_DELAY}, $now),
    kafka_timestamp = least(occurred_at + {ARRIVAL_DELAY}, $now),
    landed_at = least(occurred_at + {ARRIVAL_DELAY}, $now)
"""

COPY_SQL = """
INSERT INTO raw.statements
SELECT * REPLACE (
    {statement_id} AS statement_id,
    {learner_id} AS learner_id,
    occurred_at + {shift} AS occurred_at,
    kafka_offset + $offset AS kafka_offset,
    {arrival}
    {id_key} AS id_key
)
FROM raw.statements
WHERE kafka_offset < $originals {which}
"""

# The increment arrives now; a copy for growing keeps the originals' arrival times.
ARRIVING_NOW = "$now AS stored_at, $now AS landed_at, $now AS kafka_timestamp,"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _copy(
    con: Any, originals: int, offset: int, copy: int, first: int | None = None, newest: int = 0
) -> int:
    """Append one copy of the originals (the `first` of them when given; or, for the increment,
    the `newest` of them, their events a day later, arriving now) as new statements at Kafka
    offsets from `offset`; the statements copied."""
    new_id = f"md5(statement_id || '-{copy}')::UUID::VARCHAR"
    which = ""
    if newest:
        which = f"ORDER BY kafka_offset DESC LIMIT {newest}"
    elif first is not None:
        which = f"ORDER BY kafka_offset LIMIT {first}"
    sql = COPY_SQL.format(
        statement_id=new_id,
        learner_id="learner_id" if newest else f"sha256(learner_id || '-{copy}')",
        shift="INTERVAL 1 DAY" if newest else "INTERVAL 0 DAY",
        arrival=ARRIVING_NOW if newest else "",
        id_key=warehouse.id_key(new_id),
        which=which,
    )
    parameters: dict[str, Any] = {"offset": offset, "originals": originals}
    if newest:
        parameters["now"] = _now()
    before = con.execute("SELECT count(*) FROM raw.statements").fetchone()[0]
    con.execute(sql, parameters)
    added = con.execute("SELECT count(*) FROM raw.statements").fetchone()[0] - before
    con.execute(
        "UPDATE raw.ingest_offsets SET next_offset = (SELECT max(kafka_offset) + 1 FROM "
        "raw.statements), updated_at = $now",
        {"now": _now()},
    )
    return int(added)


def land_history(settings: settings_module.Settings, root: Path) -> int:
    """bench_marts' organisation, its 90 days ending HISTORY_ENDS_DAYS_AGO days ago, landed
    and each statement arrived ARRIVAL_DELAY after its event; the statements landed."""
    start = _now().date() - timedelta(days=bench_marts.DAYS + HISTORY_ENDS_DAYS_AGO)
    statements = bench_marts.organisation(settings, root, start=start)
    bench_marts._land(settings, statements, 0)
    con = warehouse.connect(settings)
    try:
        con.execute(HISTORICAL_ARRIVAL_SQL, {"now": _now()})
    finally:
        con.close()
    return len(statements)


def grow(settings: settings_module.Settings, originals: int, target: int) -> int:
    """Copy the `originals` (the first statements landed) until raw.statements holds
    `target` (the last copy is of the earliest originals only); the statements it holds."""
    con = warehouse.connect(settings)
    try:
        total, copy = originals, 0
        while total < target:
            copy += 1
            first = target - total if target - total < originals else None
            total += _copy(con, originals, offset=total, copy=copy, first=first)
            print(f"  {total:,} statements", flush=True)
        return total
    finally:
        con.close()


def scratch_settings(root: Path) -> settings_module.Settings:
    return settings_module.load(
        environ={
            "SKILLSTREAM_HOME": f"{root}/home",
            "SKILLSTREAM_WAREHOUSE": f"{root}/warehouse.duckdb",
            "SKILLSTREAM_SALT": "bench",
        },
        cwd=root,
    )


def _grown_and_built(settings: settings_module.Settings, root: Path, target: int) -> dict[str, Any]:
    """Land, grow to `target` and build; the figures of the grown warehouse."""
    load_at_start = os.getloadavg()
    originals = land_history(settings, root)
    start = time.perf_counter()
    total = grow(settings, originals, target)
    grow_seconds = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    with children_peak_rss_mib() as memory:
        first = build_module.build(settings, quiet=True, unit_tests=False)
    first_seconds = round(time.perf_counter() - start, 1)
    if not first.is_published:
        raise RuntimeError(f"the first build was held back: {first.failures[:5]}")
    print(f"first build of {total:,} statements: {first_seconds} s", flush=True)
    return {
        "originals": originals,
        "statements": total,
        "grow_in_sql_seconds": grow_seconds,
        "first_build_seconds": first_seconds,
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "first_build_children_peak_rss_mib": memory["peak"],
    }


def _reused(kept: Path, root: Path) -> dict[str, Any]:
    """A copy of what --keep kept, in `root`; the kept warehouse's figures."""
    facts_file = kept / FACTS_FILE
    if not facts_file.is_file():
        raise SystemExit(f"--reuse {kept}: no {FACTS_FILE} there (make it with --keep {kept})")
    facts = json.loads(facts_file.read_text())
    written_in = facts.pop("written_in")
    shutil.copytree(kept, root, dirs_exist_ok=True)
    # The published build's records name its files by the path they were written at: the
    # copy's, from now on.
    for path in scratch_settings(root).published_dir.glob("*.json"):
        path.write_text(path.read_text().replace(written_in, str(root)))
    return {**facts, "reused": str(kept)}


def _keep(root: Path, facts: dict[str, Any], keep: Path) -> None:
    (root / FACTS_FILE).write_text(json.dumps({**facts, "written_in": str(root)}, indent=2))
    shutil.copytree(root, keep)
    print(f"kept the grown warehouse in {keep}", flush=True)


def measure_increment(
    settings: settings_module.Settings, originals: int, total: int, increment: int
) -> dict[str, Any]:
    """Land `increment` statements, time the scheduled build of them, then the build with
    nothing new."""
    con = warehouse.connect(settings)
    try:
        added = _copy(con, originals, offset=total, copy=0, newest=increment)
    finally:
        con.close()
    load_before = os.getloadavg()
    with children_peak_rss_mib() as memory:
        timed = bench_marts._timed_skillstream_build(settings, slowest=10)
    print(f"build of {added:,} new statements: {timed}", flush=True)
    nothing_new = bench_marts._timed_nothing_new(settings)
    print(f"then nothing new: {nothing_new} s", flush=True)
    return {
        "statements_in_increment": added,
        "increment_build_seconds": timed,
        "increment_build_children_peak_rss_mib": memory["peak"],
        "nothing_new_build_seconds": nothing_new,
        "load_average_before_increment": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=10_000_000)
    parser.add_argument("--increment", type=int, default=100_000)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, help="keep the grown, first-built warehouse in DIR")
    where.add_argument("--reuse", type=Path, help="time the increment on a copy of DIR (--keep)")
    args = parser.parse_args(argv)
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep {args.keep}: it exists; name a directory to create")
    with tempfile.TemporaryDirectory(prefix="bench-build-at-scale-") as tmp:
        root = Path(tmp)
        settings = scratch_settings(root)
        if args.reuse is not None:
            facts = _reused(args.reuse, root)
        else:
            facts = _grown_and_built(settings, root, args.statements)
            if args.keep is not None:
                _keep(root, facts, args.keep)
        measured = measure_increment(
            settings, facts["originals"], facts["statements"], args.increment
        )
    result = {
        **facts,
        **measured,
        "bench_peak_rss_mib": peak_rss_mib(),
        "note": "the scheduled `skillstream build --no-unit-tests` (dbt build, gate, publish) "
        "after --increment new statements over a warehouse whose statements arrived "
        f"{ARRIVAL_DELAY_MINUTES} minutes after their events, then `skillstream build` with "
        "nothing new (a process); *_children_peak_rss_mib: dbt and the gate's process, summed, "
        "sampled every 0.5 s; bench_peak_rss_mib: this process (growing and landing the "
        "increment in SQL, publishing); on the shared 2-core development machine",
    }
    print(write_result("build_at_scale", result))


if __name__ == "__main__":
    main()
