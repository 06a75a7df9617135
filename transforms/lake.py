"""The lake mode's landing: `raw.statements` and `raw.quarantine` as Apache Iceberg tables
(setting `lake`; docs/scale-out.md).

Each landed batch is one Iceberg commit per table. The commit's snapshot summary carries the
next offset of every partition landed so far (`skillstream.next-offset.<topic>.<partition>`),
so the table's current snapshot is the proof of what has landed, as `raw.ingest_offsets` is
in the DuckDB warehouse. A commit is optimistic: it applies only on top of the snapshot its
offsets were read from. When another writer committed first, the commit fails; the landing
reads the offsets again, trims the batch against them and commits what is left, so a retried
bundle, a killed worker or two workers of one partition land nothing twice.

The landing cannot see earlier statements here: duplicates, conflicts and voiding are
resolved by the dbt staging layer (`stg_lake__statements`, docs/design.md §2.3, §2.4).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table

from skillstream.forget import FORGOTTEN
from skillstream.settings import LakeLocation
from skillstream.transforms.land import DeadLetter, OffsetGap
from skillstream.transforms.records import (
    REJECT_SCHEMA,
    STATEMENT_SCHEMA,
    NormalisedBatch,
    rows_table,
    statement_table,
)

NAMESPACE = "raw"
STATEMENTS = "raw.statements"
QUARANTINE = "raw.quarantine"
TOMBSTONES = "raw.forgotten_learners"
TOMBSTONE_SCHEMA = pa.schema(
    [pa.field("learner_id", pa.string()), pa.field("forgotten_at", pa.timestamp("us"))]
)
LAKE_STATEMENT_SCHEMA = STATEMENT_SCHEMA.append(pa.field("landed_at", pa.timestamp("us")))
LAKE_QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("topic", pa.string()),
        *REJECT_SCHEMA,
        pa.field("quarantined_at", pa.timestamp("us")),
    ]
)

OFFSET_PREFIX = "skillstream.next-offset."
# pyiceberg retries a failed commit by itself, on top of the newer snapshot, without reading
# the offsets again: that would land a batch another writer landed meanwhile, and carry
# offsets older than the newer snapshot's. Off; the landing retries (COMMIT_ATTEMPTS),
# trimming against the offsets it reads again.
TABLE_PROPERTIES = {"commit.retry.num-retries": "0"}
COMMIT_ATTEMPTS = 50


class LakeError(RuntimeError):
    """The lake cannot be used: its catalog or warehouse cannot be reached or read."""


def catalog(location: LakeLocation) -> Catalog:
    """The lake's Iceberg catalog (a SQLite catalog's folder is created, as the warehouse's)."""
    try:
        if location.catalog_uri.startswith("sqlite:///"):
            Path(location.catalog_uri.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        return load_catalog(
            "skillstream",
            type=location.catalog_type,
            uri=location.catalog_uri,
            warehouse=location.warehouse,
        )
    except Exception as error:
        raise LakeError(
            f"lake: the Iceberg catalog {location.catalog_uri} cannot be opened: {_reason(error)}"
        ) from error


def tables(location: LakeLocation) -> tuple[Table, Table]:
    """raw.statements and raw.quarantine of the lake, created where missing."""
    lake = catalog(location)
    try:
        lake.create_namespace_if_not_exists(NAMESPACE)
        return (
            _table(lake, STATEMENTS, LAKE_STATEMENT_SCHEMA),
            _table(lake, QUARANTINE, LAKE_QUARANTINE_SCHEMA),
        )
    except Exception as error:
        raise LakeError(
            f"lake: the tables of {location.catalog_uri} (warehouse {location.warehouse}) "
            f"cannot be created or read: {_reason(error)}"
        ) from error


def tombstone_table(location: LakeLocation) -> Table:
    """raw.forgotten_learners of the lake (created where missing): the tombstones every
    landing honours, kept where the workers can read them (docs/privacy.md)."""
    lake = catalog(location)
    lake.create_namespace_if_not_exists(NAMESPACE)
    return lake.create_table_if_not_exists(TOMBSTONES, schema=TOMBSTONE_SCHEMA)


def record_tombstone(location: LakeLocation, learner: str) -> None:
    """Tombstone the learner in the lake (once)."""
    table = tombstone_table(location)
    if learner in forgotten_ids(table):
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    table.append(
        pa.Table.from_pylist([{"learner_id": learner, "forgotten_at": now}], TOMBSTONE_SCHEMA)
    )


def forgotten_ids(table: Table) -> set[str]:
    table.refresh()
    return set(table.scan(selected_fields=("learner_id",)).to_arrow().column(0).to_pylist())


def _honour_tombstones(
    tombstones: Table | None, rows: pa.Table, rejects: list[tuple], salt: str | None
) -> tuple[pa.Table, list[tuple]]:
    """The batch as `forget` would have left it (forget.honour_tombstones, the DuckDB
    landing's rule), against the lake's tombstones read now."""
    if tombstones is None:
        return rows, rejects
    forgotten = forgotten_ids(tombstones)
    if not forgotten:  # the usual case
        return rows, rejects
    from skillstream import forget

    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.forgotten_learners (learner_id VARCHAR PRIMARY KEY)")
        con.executemany("INSERT INTO raw.forgotten_learners VALUES (?)", [[f] for f in forgotten])
        kept, kept_rejects, _ = forget.honour_tombstones(con, rows, rejects, salt)
    finally:
        con.close()
    return kept, kept_rejects


def _reason(error: Exception) -> str:
    """The first line of an error (SQLAlchemy's add the statement and a link on others)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _table(lake: Catalog, name: str, schema: pa.Schema) -> Table:
    table = lake.create_table_if_not_exists(name, schema=schema, properties=TABLE_PROPERTIES)
    if any(table.properties.get(k) != v for k, v in TABLE_PROPERTIES.items()):
        with table.transaction() as update:  # a table created by other means
            update.set_properties(TABLE_PROPERTIES)
        table = lake.load_table(name)
    return table


def committed_offsets(table: Table) -> dict[tuple[str, int], int]:
    """The next offset of each (topic, partition) landed in the table: from its newest
    snapshot that carries offsets (a maintenance commit, such as a compaction, carries none)."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        carried = {
            _partition_of(key): int(value)
            for key, value in summary.items()
            if key.startswith(OFFSET_PREFIX)
        }
        if carried:
            return carried
        parent = snapshot.parent_snapshot_id
        snapshot = None if parent is None else table.metadata.snapshot_by_id(parent)
    return {}


def _partition_of(key: str) -> tuple[str, int]:
    """(topic, partition) of a summary key `skillstream.next-offset.<topic>.<partition>`."""
    topic, _, partition = key.removeprefix(OFFSET_PREFIX).rpartition(".")
    return topic, int(partition)


def landed_offsets(location: LakeLocation, topic: str) -> dict[int, int]:
    """The next offset to land of each partition of `topic` (where the transform resumes)."""
    statements, _ = tables(location)
    return {p: o for (t, p), o in committed_offsets(statements).items() if t == topic}


def _floor(batch: NormalisedBatch, offsets: dict[tuple[str, int], int]) -> int | None:
    """The offset from which the batch has not landed, or None when it all has."""
    next_offset = offsets.get((batch.topic, batch.partition))
    if next_offset is None:
        return 0
    if batch.end <= next_offset:
        return None
    if batch.start > next_offset and batch.skipped_from != next_offset:
        raise OffsetGap(
            f"{batch.topic}[{batch.partition}]: batch starts at {batch.start} but "
            f"offsets from {next_offset} have not landed"
        )
    return next_offset


def _commit(table: Table, batch: NormalisedBatch, rows: Callable[[int], pa.Table]) -> int:
    """Append `rows(floor)` (the batch's rows from `floor` on) in one commit carrying the
    batch's next offset, trimming against the offsets read again after each failed commit.
    Returns how many rows were appended."""
    for attempt in range(COMMIT_ATTEMPTS):
        offsets = committed_offsets(table)
        floor = _floor(batch, offsets)
        if floor is None:
            return 0
        carried = {**offsets, (batch.topic, batch.partition): batch.end}
        properties = {f"{OFFSET_PREFIX}{t}.{p}": str(o) for (t, p), o in carried.items()}
        landing = rows(floor)
        try:
            table.append(landing, snapshot_properties=properties)
            return landing.num_rows
        except CommitFailedException:  # another writer committed first: read again
            time.sleep(min(0.05 * 2**attempt, 2.0))
            table.refresh()
    raise LakeError(
        f"lake: {table.name()}: {batch.topic}[{batch.partition}] {batch.start}..{batch.end} "
        f"not committed after {COMMIT_ATTEMPTS} attempts (other writers kept committing first)"
    )


def land_batch(
    lake_tables: tuple[Table, Table],
    batch: NormalisedBatch,
    dead_letter: DeadLetter | None = None,
    tombstones: Table | None = None,
    salt: str | None = None,
) -> dict[str, int]:
    """Land one batch: its rejections in raw.quarantine, then its statements in
    raw.statements, each one commit carrying the partition's next offset. A batch whose
    rejections committed and whose statements did not (a crash between the two) lands its
    statements when retried, and its rejections not again. With `tombstones` (the lake's
    raw.forgotten_learners) forgotten learners' statements and rejects are left out and their
    mentions replaced, as in the DuckDB landing; `salt` recognises a reject's actor."""
    statements, quarantine = lake_tables
    now = datetime.now(UTC).replace(tzinfo=None)
    rows, rejects = _honour_tombstones(tombstones, statement_table(batch.rows), batch.rejects, salt)
    counts = land_rejects(quarantine, batch, now, dead_letter, rejects) if batch.rejects else {}
    counts["landed"] = land_statements(statements, batch, now, rows)
    if not any(counts.values()) and batch.record_count:
        return {"already_landed": batch.record_count}
    return {name: count for name, count in counts.items() if count}


def land_rejects(
    quarantine: Table,
    batch: NormalisedBatch,
    now: datetime,
    dead_letter: DeadLetter | None,
    kept: list[tuple] | None = None,
) -> dict[str, int]:
    """The batch's rejections not landed yet, in one commit of raw.quarantine.

    `dead_letter(batch, rejects)` is called before the commit, with those that land now; it
    must return only once they are on the DLQ (a crash can repeat a dead letter, never lose
    one)."""
    dead_lettered: dict[int, int] = {}  # by the floor they were sent from

    def rejects_from(floor: int) -> pa.Table:
        rejects = [r for r in (batch.rejects if kept is None else kept) if r[1] >= floor]
        if dead_letter is not None and rejects and floor not in dead_lettered:
            dead_lettered[floor] = dead_letter(batch, rejects)
        return _quarantine_table(batch.topic, rejects, now)

    quarantined = _commit(quarantine, batch, rejects_from)
    return {"quarantined": quarantined, "dead_lettered": max(dead_lettered.values(), default=0)}


def land_statements(
    statements: Table, batch: NormalisedBatch, now: datetime, kept: pa.Table | None = None
) -> int:
    """The batch's statements not landed yet (of `kept`, when the tombstones left some out),
    in one commit of raw.statements (one that only moves the partition's offset when there are
    none); returns how many landed."""

    def rows_from(floor: int) -> pa.Table:
        rows = statement_table(batch.rows) if kept is None else kept
        if floor and batch.start < floor:
            rows = rows.filter(pc.greater_equal(rows.column("kafka_offset"), floor))
        return rows.append_column(
            LAKE_STATEMENT_SCHEMA.field("landed_at"),
            pa.array([now] * rows.num_rows, pa.timestamp("us")),
        )

    return _commit(statements, batch, rows_from)


def _quarantine_table(topic: str, rejects: list[tuple], now: datetime) -> pa.Table:
    table = rows_table(rejects, REJECT_SCHEMA)
    return pa.Table.from_arrays(
        [
            pa.array([topic] * table.num_rows, pa.string()),
            *table.columns,
            pa.array([now] * table.num_rows, pa.timestamp("us")),
        ],
        schema=LAKE_QUARANTINE_SCHEMA,
    )


# ---- erasing a learner (`skillstream forget`, docs/privacy.md) -----------------------------


def erase_learner(
    location: LakeLocation, learner: str, belongs: Callable[[str], bool], pattern: str
) -> dict[str, Any]:
    """Erase a learner from both tables, history included: their statements (`learner_id`)
    and the quarantined events that `belongs(payload)` says are theirs go, and every match of
    `pattern` (their mentions, a case-insensitive RE2 expression) in the other rows' text
    becomes FORGOTTEN, in one overwrite commit per table carrying the table's offsets
    unchanged (the landing resumes where it was). Every older snapshot is then expired and
    the files no snapshot references deleted. Returns the rows erased and changed and the
    files deleted, per table."""
    _local_folder(location.warehouse)  # refused before anything changes
    statements, quarantine = tables(location)
    summary: dict[str, Any] = {"erased": {}, "mentions_replaced": {}, "files_deleted": {}}
    for table, theirs in (
        (statements, lambda rows: pc.equal(rows.column("learner_id"), learner)),
        (quarantine, lambda rows: pa.array(map(belongs, rows.column("payload").to_pylist()))),
    ):
        name = ".".join(table.name()[-2:])
        committed_after, erased, replaced = _rewrite(table, theirs, pattern)
        summary["erased"][name] = erased
        summary["mentions_replaced"][name] = replaced
        summary["files_deleted"][name] = _expire_history(table, committed_after)
    return summary


def _rewrite(
    table: Table, theirs: Callable[[pa.Table], pa.Array], pattern: str
) -> tuple[float | None, int, int]:
    """The table without the learner's rows and mentions, in one commit carrying its offsets
    (read again, and the rows, when another writer committed first). Returns when the
    committed attempt started (None when nothing had to change), rows erased and changed."""
    for attempt in range(COMMIT_ATTEMPTS):
        table.refresh()
        snapshot = table.current_snapshot()
        if snapshot is None:
            return None, 0, 0
        started = time.time()
        rows = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
        kept = rows.filter(pc.invert(pc.fill_null(theirs(rows), False)))
        kept, replaced = _unmentioned(kept, pattern)
        if kept.num_rows == rows.num_rows and not replaced:
            return None, 0, 0
        offsets = committed_offsets(table)
        properties = {f"{OFFSET_PREFIX}{t}.{p}": str(o) for (t, p), o in offsets.items()}
        try:
            with table.transaction() as rewrite:
                rewrite.overwrite(kept, snapshot_properties=properties)
            return started, rows.num_rows - kept.num_rows, replaced
        except CommitFailedException:  # a landing committed first: its rows are read too
            time.sleep(min(0.05 * 2**attempt, 2.0))
    raise LakeError(
        f"lake: {table.name()}: the erase was not committed after {COMMIT_ATTEMPTS} attempts "
        "(other writers kept committing first)"
    )


def _unmentioned(rows: pa.Table, pattern: str) -> tuple[pa.Table, int]:
    """`rows` with every match of `pattern` in its text and text-list columns replaced with
    FORGOTTEN, and how many rows changed."""
    changed = pa.array([False] * rows.num_rows)
    for index, field in enumerate(rows.schema):
        column = rows.column(index).combine_chunks()
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            matched = pc.match_substring_regex(column, pattern)
            column = pc.replace_substring_regex(column, pattern, FORGOTTEN)
        elif pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            matched = pc.match_substring_regex(pc.binary_join(column, "\x1f"), pattern)
            values = pc.replace_substring_regex(column.values, pattern, FORGOTTEN)
            column = type(column).from_arrays(column.offsets, values, mask=column.is_null())
        else:
            continue
        changed = pc.or_(changed, pc.fill_null(matched, False))
        rows = rows.set_column(index, field, column)
    return rows, pc.sum(changed).as_py() or 0


def _expire_history(table: Table, committed_after: float | None) -> int:
    """Expire every snapshot but the current one, then delete the files under the table's
    location that no remaining snapshot references and that either an expired snapshot did
    or were written before the erase's commit started (`committed_after`). A writer that
    wrote one of the latter had read the table before that commit, so its own commit fails
    (each asserts the snapshot it read) and it writes its files again: the file can never
    be committed. Without a commit of the erase, files no snapshot ever referenced stay (a
    landing may be about to commit them). Returns how many files were deleted."""
    table.refresh()
    committed = _referenced_files(table)
    for attempt in range(COMMIT_ATTEMPTS):
        current = table.current_snapshot()
        current_id = None if current is None else current.snapshot_id
        older = [s.snapshot_id for s in table.metadata.snapshots if s.snapshot_id != current_id]
        if not older:
            break
        try:
            table.maintenance.expire_snapshots().by_ids(older).commit()
            break
        except CommitFailedException:  # a landing committed first: expire what it left
            time.sleep(min(0.05 * 2**attempt, 2.0))
            table.refresh()
    table.refresh()
    referenced = _referenced_files(table)
    deleted = 0
    for path in _local_folder(table.location()).rglob("*"):
        if not path.is_file() or str(path) in referenced:
            continue
        written_before = committed_after is not None and path.stat().st_mtime < committed_after
        if str(path) in committed or written_before:
            path.unlink()
            deleted += 1
    return deleted


def _referenced_files(table: Table) -> set[str]:
    """The local paths of the table's current metadata file and of every manifest list,
    manifest and data file of its snapshots."""
    uris = {table.metadata_location}
    for snapshot in table.metadata.snapshots:
        uris.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            uris.add(manifest.manifest_path)
            entries = manifest.fetch_manifest_entry(table.io, discard_deleted=False)
            uris.update(entry.data_file.file_path for entry in entries)
    return {str(_local_folder(uri)) for uri in uris}


def _local_folder(uri: str) -> Path:
    """The local path of a `file:` URI (or a plain path) of the lake."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise LakeError(
            f"lake: erasing from a warehouse on {parsed.scheme}: is not supported (the files "
            "no snapshot references are found by listing a local folder)"
        )
    return Path(unquote(parsed.path))


def remaining(location: LakeLocation, pattern: str) -> dict[str, int]:
    """Rows of every Parquet file under each table's location (the current snapshot's, older
    snapshots' and files no snapshot references alike) in which `pattern` matches a text or
    text-list column, by table."""
    found = {}
    for table in tables(location):
        count = 0
        for path in _local_folder(table.location()).rglob("*.parquet"):
            rows = pq.read_table(path)
            count += _unmentioned(rows, pattern)[1]
        if count:
            found[f"lake {'.'.join(table.name()[-2:])}"] = count
    return found
