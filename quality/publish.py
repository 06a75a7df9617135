"""Publishing: a build that passed the gate becomes the snapshot dashboards and reports read.

The warehouse file has one writer at a time, so readers never open it. A published build is
a manifest (`build-<id>.json`: the build's `meta.build` row and, per mart, the file holding
it); each mart's content lives in a file of its own named by its fingerprint
(`tables/<mart>-<fingerprint>.duckdb`), written once and shared by every build whose mart has
that content, so publishing copies only the marts that changed. `current.json` names the
manifest to read, through `connect_snapshot`. `latest.json` describes the newest build,
published or held back, so readers can say when what they show is not the newest.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from skillstream import warehouse
from skillstream.settings import Settings

KEEP_SNAPSHOTS = 3
TABLES_DIR = "tables"  # in the published directory: one DuckDB file per version of a mart
# meta.build, a published build's one row: column -> (the BuildRecord field it holds, type)
META_BUILD = {
    "build_id": ("build_id", "VARCHAR"),
    "built_at": ("finished_at", "TIMESTAMP"),
    "data_docs": ("data_docs", "VARCHAR"),
    "newest_event_at": ("newest_event_at", "TIMESTAMP"),
    "newest_stored_at": ("newest_stored_at", "TIMESTAMP"),
}

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
-- The newest landed_at the build read (BuildRecord.landed_through): the next build's data
-- tests of the landed statements look only after the published build's (dbt macro
-- checked_after).
ALTER TABLE quality.runs ADD COLUMN IF NOT EXISTS landed_through TIMESTAMP;
-- The models' code and settings the build ran (skillstream.build.models_fingerprint).
ALTER TABLE quality.runs ADD COLUMN IF NOT EXISTS modelled_with VARCHAR;
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
    # max(landed_at) of raw.statements when the build started: a landing stamps its
    # transaction's time and landings are serialised, so every row landed at or before it was
    # there for the build to check. The next build checks the rows landed after the
    # published build's (skillstream.build.checked_after).
    landed_through: str | None = None
    # What the build modelled (skillstream.build.input_fingerprint): a build whose inputs
    # equal the published build's has nothing new to model.
    inputs: str | None = None
    # The models' code and the settings they read (skillstream.build.models_fingerprint): a
    # build whose models differ from the last successful dbt run's is a full refresh.
    modelled_with: str | None = None
    # What publishing copied: tables_written (the marts whose content changed), tables_shared
    # (how many were already published, by content), seconds.
    publishing: dict[str, Any] | None = None


def _write_json_atomically(path: Path, value: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=2, default=str))
    os.replace(temporary, path)


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The content of a mart, independent of row order: its columns (name and type: a row's
    hash ignores both), its row count and the sum of its rows' hashes (a sum, not a xor, so
    that duplicate rows count; NULLs hash by their position in the row)."""
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'marts' "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    ((rows, hashes),) = con.execute(
        f'SELECT count(*), sum(hash(t)::HUGEINT) FROM marts."{table}" t'
    ).fetchall()
    content = json.dumps([table, columns, rows, str(hashes)])
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def _write_table(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> None:
    """`marts.<table>` copied into a DuckDB file of its own, which appears whole or not at all."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    con.execute(f"ATTACH '{partial}' AS published_table")  # a path we made: ATTACH takes no ?
    try:
        con.execute("CREATE SCHEMA published_table.marts")
        con.execute(
            f'CREATE TABLE published_table.marts."{table}" AS SELECT * FROM marts."{table}"'
        )
    finally:
        con.execute("DETACH published_table")
    os.replace(partial, target)


def _publish(con: duckdb.DuckDBPyConnection, directory: Path, record: BuildRecord) -> Path:
    """Write the marts whose content no published file holds yet, then the build's manifest;
    records in `record.publishing` what was written and what was shared."""
    started = time.monotonic()
    (directory / TABLES_DIR).mkdir(exist_ok=True)
    tables, written = {}, []
    for table in sorted(warehouse.table_names(con, "marts")):
        name = f"{TABLES_DIR}/{table}-{_fingerprint(con, table)}.duckdb"
        if not (directory / name).exists():
            _write_table(con, table, directory / name)
            written.append(table)
        tables[table] = name
    manifest = directory / f"{record.build_id}.json"
    build = {column: getattr(record, field) for column, (field, _) in META_BUILD.items()}
    _write_json_atomically(manifest, {"build": build, "tables": tables})
    record.publishing = {
        "tables_written": written,
        "tables_shared": len(tables) - len(written),
        "seconds": round(time.monotonic() - started, 3),
    }
    return manifest


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
            "INSERT INTO quality.runs (build_id, started_at, finished_at, dbt_success, "
            "gate_success, is_published, failures, statements, quarantined, landed_through, "
            "modelled_with) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                record.landed_through,
                record.modelled_with,
            ],
        )
        if record.is_published:  # under the warehouse's lock: one publisher, one pruner
            record.snapshot = str(_publish(con, directory, record))
            _write_json_atomically(directory / "current.json", asdict(record))
            _prune(directory)
    finally:
        con.close()
    _write_json_atomically(directory / "latest.json", asdict(record))
    return record


def _prune(directory: Path) -> None:
    current = Path(json.loads((directory / "current.json").read_text())["snapshot"])
    builds = sorted(directory.glob("build-*"))
    manifests = [p for p in builds if p.suffix == ".json"][-KEEP_SNAPSHOTS:]
    delete_builds(directory, [p for p in builds if p not in manifests and p != current])


def delete_builds(directory: Path, builds: list[Path]) -> list[str]:
    """Delete these published builds, then every table file no remaining build names (a
    table a kept build shares stays); returns the files deleted. Run it under the
    warehouse's lock, so that no build is being published meanwhile."""
    for build in builds:
        build.unlink(missing_ok=True)
    named: set[Path] = set().union(*map(snapshot_files, directory.glob("build-*.json")))
    tables = [p for p in sorted((directory / TABLES_DIR).glob("*")) if p not in named]
    for table in tables:
        table.unlink(missing_ok=True)
    return [str(p) for p in [*builds, *tables]]


def _read_manifest(manifest: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A published build's meta.build row and its table files (table -> path beside it)."""
    try:
        published = json.loads(manifest.read_text())
        build, tables = published["build"], published["tables"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{manifest} is not a published build's manifest (build-<id>.json): {error}"
        ) from None
    return build, tables


def snapshot_files(snapshot: str | Path) -> set[Path]:
    """The table files a published build (its manifest) reads."""
    manifest = Path(snapshot)
    return {manifest.parent / name for name in _read_manifest(manifest)[1].values()}


def published_files(directory: Path) -> list[Path]:
    """Every file holding published data: the builds' manifests and the table files."""
    return sorted(directory.glob("build-*")) + sorted((directory / TABLES_DIR).glob("*"))


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


def connect_snapshot(snapshot: str | Path) -> duckdb.DuckDBPyConnection:
    """A connection to a published build (its manifest, `current.json`'s `snapshot`): an
    in-memory database where `marts.<table>` are views of the build's table files, attached
    read-only, and `meta.build` is the build's row. The one way to read a published build."""
    manifest = Path(snapshot)
    build, tables = _read_manifest(manifest)
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA marts")
        for table, name in sorted(tables.items()):
            alias = Path(name).stem  # '<mart>-<fingerprint>': not a schema's name
            con.execute(f"ATTACH '{manifest.parent / name}' AS \"{alias}\" (READ_ONLY)")
            con.execute(f'CREATE VIEW marts."{table}" AS SELECT * FROM "{alias}".marts."{table}"')
        con.execute("CREATE SCHEMA meta")
        columns = ", ".join(f"?::{kind} AS {column}" for column, (_, kind) in META_BUILD.items())
        con.execute(
            f"CREATE TABLE meta.build AS SELECT {columns}",
            [build[column] for column in META_BUILD],
        )
    except BaseException:
        con.close()
        raise
    return con


@functools.lru_cache(maxsize=2)
def open_snapshot(snapshot: str) -> duckdb.DuckDBPyConnection:
    """The one connection of this process to a published build (`connect_snapshot`): the
    dashboard and the report share it, each query on a cursor of its own (a connection is not
    thread-safe, its cursors are). A build's files are never written after publishing, so it
    never goes stale."""
    return connect_snapshot(snapshot)
