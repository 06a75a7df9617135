"""`skillstream forget` in the lake mode (setting `lake`, docs/privacy.md): the learner leaves
the Iceberg tables, their history and every file under the warehouse folder, while the
landed offsets stay as they were; real pyiceberg (SQLite catalog), real broker, DuckDB, dbt."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyiceberg.table import Table

from skillstream import forget
from skillstream.settings import LakeLocation, Settings
from skillstream.transforms import lake
from skillstream.transforms.native_bridge import normalise_chunk_table
from skillstream.transforms.records import KafkaRecord, NormalisedBatch
from skillstream.xapi.identity import learner_id
from tests.conftest import make_settings, run_cli
from tests.skillstream.test_forget_pipeline import published_files_holding, statements
from tests.skillstream.test_forget_pipeline import transform as transform_quietly

pytestmark = pytest.mark.integration

LAKE = "sqlite:///lake/catalog.db,lake/warehouse"
TOPIC = "xapi.statements.forget-lake"
SALT = "test-salt"
BOB_IFI = "mailto:bob@example.com"
BOB = learner_id(BOB_IFI, SALT)


def taught_by_bob() -> dict:
    """Ada's statement with Bob as its instructor."""
    return {
        "id": "00000000-0000-4000-8000-000000000099",
        "actor": {"mbox": "mailto:ada@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://lms.example/a"},
        "timestamp": "2026-07-01T09:00:00Z",
        "context": {"instructor": {"mbox": BOB_IFI, "name": "Bob"}},
    }


def batches() -> list[NormalisedBatch]:
    """The three learners' statements, Ada's taught by Bob and three rejected events (Bob's,
    one of Cy's that names Bob's email, no one's), as two batches of partition 0."""
    values = [orjson.dumps(s) for s in [*statements(), taught_by_bob()]]
    values += [
        b"not json, from Bob@Example.com",
        orjson.dumps({"actor": {"mbox": "mailto:cy@example.com"}, "note": "Bob@example.com"}),
        b"not json at all",
    ]
    landed = []
    for start, end in ((0, 7), (7, len(values))):
        records = [KafkaRecord(o, values[o], "file", 0) for o in range(start, end)]
        rows, rejects = normalise_chunk_table(records, 0, SALT)
        landed.append(NormalisedBatch(TOPIC, 0, start, end, rows, rejects))
    return landed


def files_holding(warehouse: Path, texts: tuple[str, ...]) -> list[str]:
    """Files under the warehouse folder whose bytes, or (Parquet) whose rows, hold any of
    `texts` (case-insensitive)."""
    holding = []
    for path in sorted(p for p in warehouse.rglob("*") if p.is_file()):
        content = path.read_bytes().lower()
        if path.suffix == ".parquet":
            content += orjson.dumps(pq.read_table(path).to_pylist(), default=str).lower()
        if any(text.lower().encode() in content for text in texts):
            holding.append(str(path.relative_to(warehouse)))
    return holding


def rows(table: Table) -> list[dict]:
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["kafka_offset"])


def test_erase_leaves_no_trace_in_the_tables_their_history_or_the_files(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, lake=LAKE)
    location = settings.lake_location
    assert location is not None
    statements_table, quarantine = lake.tables(location)
    for batch in batches():
        lake.land_batch((statements_table, quarantine), batch)
    warehouse = tmp_path / "lake" / "warehouse"
    offsets = [lake.committed_offsets(t) for t in (statements_table, quarantine)]
    pattern = forget._mention_pattern(BOB, ("bob@example.com",))
    assert lake.remaining(location, pattern) == {
        "lake raw.statements": 5,  # his 4 and Ada's taught by him
        "lake raw.quarantine": 2,
    }
    assert files_holding(warehouse, (BOB, "bob@example.com"))

    summary = lake.erase_learner(
        location, BOB, lambda payload: forget._belongs(payload, BOB, BOB_IFI, SALT), pattern
    )

    assert summary["erased"] == {"raw.statements": 4, "raw.quarantine": 1}
    assert summary["mentions_replaced"] == {"raw.statements": 1, "raw.quarantine": 1}
    assert files_holding(warehouse, (BOB, "bob@example.com")) == []
    assert lake.remaining(location, pattern) == {}
    statements_table, quarantine = lake.tables(location)
    for table in (statements_table, quarantine):
        assert len(table.metadata.snapshots) == 1, "an older snapshot is left"
    assert [lake.committed_offsets(t) for t in (statements_table, quarantine)] == offsets
    landed = rows(statements_table)
    bob_free = [r for r in landed if r["learner_id"] != BOB]
    assert len(landed) == len(bob_free) == 9  # Ada's and Cy's 4 each, and Ada's taught
    taught = orjson.loads(landed[-1]["statement"])
    assert taught["context"]["instructor"]["account"]["name"] == forget.FORGOTTEN
    cys, no_ones = (r["payload"] for r in rows(quarantine))
    assert orjson.loads(cys)["note"] == forget.FORGOTTEN and no_ones == "not json at all"

    # The landing resumes where it was: the same batches again land nothing.
    for batch in batches():
        assert lake.land_batch((statements_table, quarantine), batch) == {
            "already_landed": batch.record_count
        }
    assert rows(lake.tables(location)[0]) == landed


def test_an_erase_stopped_before_its_cleanup_is_finished_by_the_next(tmp_path: Path) -> None:
    location = make_settings(tmp_path, lake=LAKE).lake_location
    assert location is not None
    lake_tables = lake.tables(location)
    for batch in batches():
        lake.land_batch(lake_tables, batch)
    pattern = forget._mention_pattern(BOB, ("bob@example.com",))
    # The rewrite committed, then the process stopped: the older snapshots still hold Bob.
    lake._rewrite(lake_tables[0], lambda rows: pc.equal(rows.column("learner_id"), BOB), pattern)
    assert lake.remaining(location, pattern)["lake raw.statements"] == 5

    summary = lake.erase_learner(
        location, BOB, lambda payload: forget._belongs(payload, BOB, BOB_IFI, SALT), pattern
    )

    assert summary["erased"] == {"raw.statements": 0, "raw.quarantine": 1}
    assert summary["mentions_replaced"]["raw.statements"] == 0  # nothing left to rewrite
    assert summary["files_deleted"]["raw.statements"] > 0
    assert files_holding(tmp_path / "lake" / "warehouse", (BOB, "bob@example.com")) == []


def test_erase_refuses_a_warehouse_it_cannot_list_before_changing_anything() -> None:
    location = LakeLocation("sqlite:////nowhere/catalog.db", "s3://bucket/warehouse")
    with pytest.raises(lake.LakeError, match=r"erasing from a warehouse on s3: is not supported"):
        lake.erase_learner(location, BOB, lambda payload: False, BOB)


# Ingest, transform, two builds (dbt and the gate) and the forget: ~2 min on a quiet machine.
@pytest.mark.timeout(900)
def test_forget_in_the_lake_mode_publishes_a_build_without_the_learner(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        bootstrap=kafka_broker.bootstrap,
        statements_topic=f"xapi.statements.forget-lake.{tmp_path.name}",
        dlq_topic=f"xapi.dlq.forget-lake.{tmp_path.name}",
        lake=LAKE,
        k_anonymity="1",
        quality_max_quarantine_share="0.5",
        quality_min_volume_ratio="0.5",  # forgetting 1 of 3 learners drops a third
    )
    path = tmp_path / "statements.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(s) for s in [*statements(), taught_by_bob()]))
    (tmp_path / "roster.csv").write_text(
        "learner,cohort,org,team,role,is_pilot,hourly_cost\n"
        "ada@example.com,pilot,acme,t1,analyst,true,50\n"
        "bob@example.com,pilot,acme,t1,analyst,true,50\n"
        "cy@example.com,control,acme,t1,analyst,false,50\n"
    )
    run_cli(settings, "up")
    run_cli(settings, "ingest", "file", str(path))
    run_cli(settings, "roster", "import", str(tmp_path / "roster.csv"))
    run_cli(settings, "transform", "--until-caught-up")
    run_cli(settings, "build", "--quiet")
    bob = learner_id(BOB_IFI, settings.learner_salt())
    assert settings.lake_location is not None
    assert lake.remaining(settings.lake_location, bob)["lake raw.statements"] == 5

    result = run_cli(settings, "forget", "--learner", "Bob@Example.com", "--quiet")

    summary = orjson.loads(result.stdout)
    assert summary["lake"]["erased"] == {"raw.statements": 4, "raw.quarantine": 0}
    assert summary["lake"]["mentions_replaced"]["raw.statements"] == 1
    assert summary["build"]["published"] and summary["remaining"] == {}
    # only the tombstone keeps the id (the hash, as raw.forgotten_learners in DuckDB does)
    assert files_holding(tmp_path / "lake" / "warehouse", (bob, "bob@example.com")) == [
        path
        for path in files_holding(tmp_path / "lake" / "warehouse", (bob,))
        if path.startswith("raw/forgotten_learners/")
    ]
    assert published_files_holding(settings, bob) == []
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        (learners,) = con.execute(
            "SELECT list(DISTINCT learner_id) FROM staging.stg_xapi__statements"
        ).fetchall()[0]
    finally:
        con.close()
    assert len(learners) == 2 and bob not in learners  # Ada and Cy, built from the lake
    assert transform_quietly(settings).get("statements_landed", 0) == 0
    assert lake.remaining(settings.lake_location, bob) == {}


def test_mentions_in_text_lists_are_replaced_and_empty_or_missing_lists_kept() -> None:
    rows_ = pa.table({"ids": pa.array([["a", BOB], None, []], pa.list_(pa.string()))})
    rewritten, changed = lake._unmentioned(rows_, forget._mention_pattern(BOB, ()))
    assert changed == 1
    assert rewritten.column("ids").to_pylist() == [["a", forget.FORGOTTEN], None, []]


def test_a_landing_after_forget_leaves_the_learner_out(tmp_path: Path) -> None:
    """The lake's tombstones are honoured by every later landing, as the DuckDB landing
    honours raw.forgotten_learners: a replay of Kafka does not bring the learner back."""
    location = make_settings(tmp_path, lake=LAKE).lake_location
    assert location is not None
    lake.record_tombstone(location, BOB)
    lake.record_tombstone(location, BOB)  # once is enough
    tombstones = lake.tombstone_table(location)
    assert lake.forgotten_ids(tombstones) == {BOB}
    assert tombstones.scan().to_arrow().num_rows == 1
    tables = lake.tables(location)
    for batch in batches():
        lake.land_batch(tables, batch, tombstones=tombstones, salt=SALT)

    landed = rows(lake.tables(location)[0])
    assert landed and BOB not in {r["learner_id"] for r in landed}
    assert BOB not in json.dumps(landed, default=str)
    taught = orjson.loads(landed[-1]["statement"])
    assert taught["context"]["instructor"]["account"]["name"] == forget.FORGOTTEN
    # the offsets moved past what was left out: the landing resumes after it
    assert lake.landed_offsets(location, TOPIC) == {0: batches()[-1].end}
