"""The DuckDB warehouse: connections and the `raw` schema the pipeline lands into.

dbt owns every schema but `raw`; the Beam pipeline is the only writer of the raw
statement tables, the roster and KPI imports write theirs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from skillstream.settings import Settings

T = TypeVar("T")


def id_key(column: str) -> str:
    """SQL for the `id_key` of a statement id: the first 64 bits of its MD5, as UBIGINT.
    (DuckDB's `hash` would be cheaper but may change between versions; the keys are stored.)"""
    return f"(md5_number({column}) >> 64)::UBIGINT"


# marts.engagement_weekly's counts of a week and group, each additive and never negative: what
# the Engagement page charts and the quality gate checks.
ENGAGEMENT_MEASURES = (
    "active_learners",
    "sessions",
    "active_minutes",
    "practice_attempts",
    "hints_requested",
    "feedback_given",
)

RAW_DDL = f"""
CREATE SCHEMA IF NOT EXISTS raw;

-- statement_id is unique without an index: the landing step classifies every id against
-- what has landed inside the batch's transaction (one writer), and dbt's unique test checks it
-- on every build. A primary key's ART index on random ids makes landing a batch into a
-- 10M-statement warehouse twice as slow and holds GBs of memory. (A warehouse that has the
-- key keeps it; both work.)
-- The statement JSON is stored with ZSTD: DuckDB leaves strings shorter than 4 KB to its
-- dictionary and FSST methods, whose analysis at each insert costs ~12 us a statement for
-- ~500 B a statement on disk; ZSTD costs ~4.5 us for ~60 B, and scans as fast. (A warehouse
-- created with other storage keeps it; both read the same.)
CREATE TABLE IF NOT EXISTS raw.statements (
    statement_id        VARCHAR NOT NULL,
    learner_id          VARCHAR NOT NULL,
    verb_id             VARCHAR NOT NULL,
    object_id           VARCHAR,
    object_type         VARCHAR NOT NULL,
    object_activity_type VARCHAR,
    declared_course_ids VARCHAR[] NOT NULL,  -- activities this statement declares as courses
    parent_ids          VARCHAR[] NOT NULL,
    grouping_ids        VARCHAR[] NOT NULL,
    skill_ids           VARCHAR[] NOT NULL,
    cohort              VARCHAR,
    org                 VARCHAR,
    team                VARCHAR,
    role                VARCHAR,
    score_scaled        DOUBLE,
    score_raw           DOUBLE,
    score_min           DOUBLE,
    score_max           DOUBLE,
    success             BOOLEAN,
    completion          BOOLEAN,
    response            VARCHAR,
    duration_seconds    DOUBLE,
    voids_statement_id  VARCHAR,            -- set on voiding statements
    is_voided           BOOLEAN NOT NULL DEFAULT false,
    occurred_at         TIMESTAMP NOT NULL, -- statement timestamp (else stored), UTC
    stored_at           TIMESTAMP NOT NULL, -- UTC
    source              VARCHAR,
    kafka_partition     INTEGER NOT NULL,
    kafka_offset        BIGINT NOT NULL,
    content_hash        VARCHAR NOT NULL,
    statement           JSON NOT NULL USING COMPRESSION zstd,
    landed_at           TIMESTAMP NOT NULL,
    kafka_timestamp     TIMESTAMP,          -- when Kafka took the record, UTC; freshness
    id_key              UBIGINT             -- see below
);
-- A raw.statements created without kafka_timestamp gets it.
ALTER TABLE raw.statements ADD COLUMN IF NOT EXISTS kafka_timestamp TIMESTAMP;
-- id_key: 64 bits of the id's MD5. The landing looks for earlier copies of a batch's ids by
-- this integer column: scanning it costs less than half of scanning every id (compressed text),
-- and the scan is what grows with the warehouse (at 1M statements: 20 ms a batch, not 48).
-- Rows without one (a table created without the column, rows written by other means) get
-- it here; a row that has none yet is always looked at.
ALTER TABLE raw.statements ADD COLUMN IF NOT EXISTS id_key UBIGINT;
UPDATE raw.statements SET id_key = {id_key("statement_id")} WHERE id_key IS NULL;

CREATE TABLE IF NOT EXISTS raw.ingest_offsets (
    topic           VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    next_offset     BIGINT NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);

CREATE TABLE IF NOT EXISTS raw.quarantine (
    topic           VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL,
    statement_id    VARCHAR,
    source          VARCHAR,
    reasons         VARCHAR[] NOT NULL,
    payload         VARCHAR NOT NULL USING COMPRESSION zstd, -- the event as received
    quarantined_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS raw.roster (
    learner_id  VARCHAR PRIMARY KEY,
    cohort      VARCHAR,
    org         VARCHAR,
    team        VARCHAR,
    role        VARCHAR,
    is_pilot    BOOLEAN,
    hourly_cost DOUBLE,
    imported_at TIMESTAMP NOT NULL
);

-- Business KPIs per learner or per team over time (kpis.csv); a re-import of the same
-- (subject, kpi, day) replaces the value.
CREATE TABLE IF NOT EXISTS raw.kpi_observations (
    learner_id  VARCHAR,
    team        VARCHAR,
    kpi         VARCHAR NOT NULL,
    observed_on DATE NOT NULL,
    value       DOUBLE NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    CHECK ((learner_id IS NULL) <> (team IS NULL))
);

-- Tombstones of `skillstream forget`: the learner's salted id only, never the IFI. Landing
-- drops statements of these learners, so a replay of Kafka does not bring them back.
CREATE TABLE IF NOT EXISTS raw.forgotten_learners (
    learner_id   VARCHAR PRIMARY KEY,
    forgotten_at TIMESTAMP NOT NULL
);
"""


def landed_relations(settings: Settings) -> tuple[str, str]:
    """Where the landed statements and the quarantined events are read: raw.statements and
    raw.quarantine, or in the lake mode (setting `lake`, docs/scale-out.md), where the
    transform leaves those empty, the dbt staging layer's reading of the lake."""
    if settings.lake_location is not None:
        return "staging.stg_lake__statements", "staging.stg_lake__quarantine"
    return "raw.statements", "raw.quarantine"


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for writing."""


def connect(
    settings: Settings, read_only: bool = False, wait_seconds: float = 30.0
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file; waits while another writer holds it."""
    path = Path(settings.warehouse)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return waiting_for_lock(
        lambda: duckdb.connect(str(path), read_only=read_only), path, wait_seconds
    )


def waiting_for_lock(open_connection: Callable[[], T], path: Path, wait_seconds: float = 30.0) -> T:
    """`open_connection()` of the warehouse file at `path`, tried again while another process
    holds the file's lock (a transform lands a batch in well under a second), at most
    `wait_seconds`; every connection to the warehouse waits this way, whoever opens it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return open_connection()
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                if "lock" in str(error).lower():
                    raise WarehouseBusy(
                        f"{path} is in use by another process (a transform, build or import); "
                        "try again when it finishes"
                    ) from None
                raise
            time.sleep(0.2)


def table_names(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The tables of one schema of the connection's own database (not of attached ones)."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ?",
        [schema],
    ).fetchall()
    return {name for (name,) in rows}


@contextlib.contextmanager
def registered_rows(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[str], rows: list[tuple]
) -> Iterator[None]:
    """Rows (tuples in `columns` order) readable as the view `name` inside the block.

    Read them straight from this view. Do not copy them into a TEMP table first: DuckDB
    (2.0.0) loses the rows when, inside a transaction on a database file, a TEMP table filled
    from an Arrow scan of more than one row group (~123k rows) is inserted into a table —
    the INSERT reports 0 rows (seen with 2M KPI rows; tests/ingestion/test_kpis.py).
    """
    incoming = pa.table(
        {
            column: pa.array(values)
            for column, values in zip(columns, zip(*rows, strict=True), strict=True)
        }
        if rows
        else {column: pa.array([], pa.null()) for column in columns}
    )
    con.register(name, incoming)
    try:
        yield
    finally:
        con.unregister(name)


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: list[tuple]
) -> None:
    """Append rows in one INSERT through Arrow (executemany runs one INSERT per row: 40,000
    KPI rows took 25 s that way)."""
    if not rows:
        return
    with registered_rows(con, "incoming_rows", columns, rows):
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM incoming_rows")


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
