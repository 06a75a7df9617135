"""Publishing: a build that passed the gate becomes the snapshot dashboards and reports read.

The warehouse file has one writer at a time, so readers never open it: each published build
is a DuckDB file of its own holding the marts, and `current.json` names the one to read.
`latest.json` describes the newest build, published or held back, so readers can say when
what they show is not the newest.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from skillstream import warehouse
from skillstream.settings import Settings

KEEP_SNAPSHOTS = 3

QUALITY_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.runs (
    build_id      VARCHAR PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    dbt_success   BOOLEAN NOT NULL,
    gate_success  BOOLEAN,
    is_published  BOOLEAN NOT NULL,
    failures      JSON NOT NULL,
    statements    BIGINT,
    quarantined   BIGINT
);
"""


@dataclass
class BuildRecord:
    build_id: str
    started_at: str
    finished_at: str
    dbt_success: bool
    gate_success: bool | None
    is_published: bool
    failures: list[dict[str, Any]] = field(default_factory=list)
    # every dbt test and expectation that ran: source, table, check, column, passed, observed
    checks: list[dict[str, Any]] = field(default_factory=list)
    snapshot: str | None = None
    data_docs: str | None = None
    # Freshness: the event time (occurred_at) and the time stored (stored_at) of the newest
    # statement landed when the build started; the build includes at least those.
    newest_event_at: str | None = None
    newest_stored_at: str | None = None
    # What the build modelled (skillstream.build.input_fingerprint): a build whose inputs
    # equal the published build's has nothing new to model.
    inputs: str | None = None


def _write_json_atomically(path: Path, value: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=2, default=str))
    os.replace(temporary, path)


def _snapshot(con: duckdb.DuckDBPyConnection, target: Path, record: BuildRecord) -> None:
    target.unlink(missing_ok=True)
    con.execute(f"ATTACH '{target}' AS snapshot")  # a path we made; DuckDB cannot bind ATTACH
    try:
        con.execute("CREATE SCHEMA snapshot.marts")
        con.execute("CREATE SCHEMA snapshot.meta")
        for table in sorted(warehouse.table_names(con, "marts")):
            con.execute(f'CREATE TABLE snapshot.marts."{table}" AS SELECT * FROM marts."{table}"')
        con.execute(
            "CREATE TABLE snapshot.meta.build AS SELECT ?::VARCHAR AS build_id, "
            "?::TIMESTAMP AS built_at, ?::VARCHAR AS data_docs, "
            "?::TIMESTAMP AS newest_event_at, ?::TIMESTAMP AS newest_stored_at",
            [
                record.build_id,
                record.finished_at,
                record.data_docs,
                record.newest_event_at,
                record.newest_stored_at,
            ],
        )
    finally:
        con.execute("DETACH snapshot")


def _landed_counts(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[int, int]:
    """The statements landed and the events quarantined; in the lake mode 0 and 0 when the
    staging layer that reads the lake did not build."""
    statements, quarantine = warehouse.landed_relations(settings)
    try:
        (counts,) = con.execute(
            f"SELECT (SELECT count(*) FROM {statements}), (SELECT count(*) FROM {quarantine})"
        ).fetchall()
    except duckdb.CatalogException:
        return 0, 0
    return counts


def record_build(settings: Settings, record: BuildRecord) -> BuildRecord:
    """Record the build in quality.runs; publish its marts when it passed."""
    directory = settings.published_dir
    directory.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        con.execute(QUALITY_DDL)
        counts = _landed_counts(con, settings)
        con.execute(
            "INSERT INTO quality.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.build_id,
                record.started_at,
                record.finished_at,
                record.dbt_success,
                record.gate_success,
                record.is_published,
                json.dumps(record.failures, default=str),
                counts[0],
                counts[1],
            ],
        )
        if record.is_published:
            target = directory / f"{record.build_id}.duckdb"
            _snapshot(con, target, record)
            record.snapshot = str(target)
    finally:
        con.close()
    if record.is_published:
        _write_json_atomically(directory / "current.json", asdict(record))
        _prune(directory)
    _write_json_atomically(directory / "latest.json", asdict(record))
    return record


def _prune(directory: Path) -> None:
    current = json.loads((directory / "current.json").read_text())["snapshot"]
    snapshots = sorted(directory.glob("build-*.duckdb"))
    for old in snapshots[:-KEEP_SNAPSHOTS]:
        if str(old) != current:
            old.unlink(missing_ok=True)
            Path(f"{old}.wal").unlink(missing_ok=True)


def new_build_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("build-%Y%m%dT%H%M%S%fZ")


def read_status(settings: Settings) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the published build, the newest build): what readers show, and whether it is the newest."""
    directory = settings.published_dir

    def read(name: str) -> dict[str, Any] | None:
        path = directory / name
        return json.loads(path.read_text()) if path.exists() else None

    return read("current.json"), read("latest.json")


@functools.lru_cache(maxsize=2)
def open_snapshot(snapshot: str) -> duckdb.DuckDBPyConnection:
    """The one read-only connection of this process to a published snapshot: the dashboard and
    the report share it, each query on a cursor of its own (a connection is not thread-safe,
    its cursors are). Snapshots are never written after publishing, so it never goes stale."""
    return duckdb.connect(snapshot, read_only=True)
