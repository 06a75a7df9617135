"""The lake mode (setting `lake`, transforms/lake.py, docs/scale-out.md) against the real broker,
a real Iceberg lake (pyiceberg, SQLite catalog) and real dbt: a retried batch, a killed
transform and concurrent writers land each statement exactly once; the marts built from the
lake equal those built from the DuckDB warehouse on the same input; bad settings get a clear
error."""

from __future__ import annotations

import math
import multiprocessing
import random
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from skillstream import kafka
from skillstream import settings as settings_module
from skillstream.settings import Settings
from skillstream.transforms import lake
from skillstream.transforms.land import OffsetGap
from skillstream.transforms.native_bridge import normalise_chunk_table
from skillstream.transforms.records import KafkaRecord, NormalisedBatch
from tests.conftest import CORPUS, make_settings, run_cli
from tests.transforms.test_exactly_once import (
    Transform,
    end_offsets,
    produce_raw,
    produce_simulated,
    simulate,
)

pytestmark = pytest.mark.integration

LAKE = "sqlite:///lake/catalog.db,lake/warehouse"
TOPIC = "xapi.statements.lake"


def lake_settings(root: Path, bootstrap: str, topic: str, **overrides: str) -> Settings:
    """Settings landing into a lake under `root`, reading `topic`."""
    settings = make_settings(
        root,
        bootstrap=bootstrap,
        statements_topic=topic,
        dlq_topic=f"{topic}.dlq",
        lake=LAKE,
        **overrides,
    )
    return settings


@pytest.fixture
def lake_pipeline(kafka_broker: Settings, tmp_path: Path) -> Settings:
    """Settings of one test on the shared broker, landing into a lake of its own."""
    settings = lake_settings(
        tmp_path, kafka_broker.bootstrap, f"xapi.statements.{uuid.uuid4().hex[:8]}"
    )
    kafka.ensure_topics(settings)
    return settings


def lake_statements(settings: Settings) -> tuple[list[str], dict[int, int]]:
    """The ids of every statement row in the lake, and its landed offsets."""
    assert settings.lake_location is not None
    statements, _ = lake.tables(settings.lake_location)
    ids = statements.scan(selected_fields=("statement_id",)).to_arrow()["statement_id"]
    return ids.to_pylist(), lake.landed_offsets(settings.lake_location, settings.statements_topic)


def assert_exactly_once_in_lake(settings: Settings, produced: set[str]) -> None:
    ids, offsets = lake_statements(settings)
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} statements landed twice"
    assert produced - set(ids) == set(), f"{len(produced - set(ids))} statements were lost"
    assert set(ids) - produced == set(), "a statement landed that was never produced"
    assert offsets == end_offsets(settings), "the landed offsets are not the end of the topic"


# ---- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lake/warehouse", "expected <catalog URI>,<warehouse>"),
        ("sqlite:///lake/catalog.db,", "expected <catalog URI>,<warehouse>"),
        ("lake/catalog.db,lake/warehouse", "the catalog URI must start with one of"),
    ],
)
def test_a_lake_setting_that_cannot_be_used_is_refused_with_its_name(
    tmp_path: Path, value: str, expected: str
) -> None:
    with pytest.raises(settings_module.SettingsError) as refused:
        settings_module.load(environ={"SKILLSTREAM_LAKE": value}, cwd=tmp_path)
    assert str(refused.value).startswith("SKILLSTREAM_LAKE: ")
    assert expected in str(refused.value)


def test_relative_lake_paths_resolve_against_the_working_directory(tmp_path: Path) -> None:
    settings = settings_module.load(environ={"SKILLSTREAM_LAKE": LAKE}, cwd=tmp_path)
    assert settings.lake_location == settings_module.LakeLocation(
        f"sqlite:///{tmp_path}/lake/catalog.db", (tmp_path / "lake" / "warehouse").as_uri()
    )
    assert settings.lake_location.catalog_type == "sql"
    # A child process given these settings finds the same lake wherever it runs.
    again = settings_module.load(environ=settings.as_env(), cwd=tmp_path / "elsewhere")
    assert again.lake_location == settings.lake_location


def test_a_lake_that_cannot_be_opened_is_a_one_line_error(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    settings = make_settings(
        tmp_path,
        bootstrap=kafka_broker.bootstrap,
        lake=f"sqlite:///{tmp_path}/a-file/catalog.db,{tmp_path}/warehouse",
    )
    result = run_cli(settings, "transform", "--until-caught-up", check=False)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: lake: the Iceberg catalog sqlite:///{tmp_path}/a-file")
    assert "Traceback" not in result.stderr


# ---- exactly once ----------------------------------------------------------------------


def normalised_batches(settings: Settings, directory: Path, size: int) -> list[NormalisedBatch]:
    """A simulated organisation's statements as the transform normalises them: consecutive
    batches of `size` records of partition 0 of TOPIC, one a rejection in each."""
    statements, _ = simulate(settings, directory, learners=30)
    values = statements.read_bytes().splitlines()
    batches = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        chunk[-1] = b'{"id": "not-a-statement"}'
        records = [KafkaRecord(start + i, v, "file", 0) for i, v in enumerate(chunk)]
        rows, rejects = normalise_chunk_table(records, 0, settings.learner_salt())
        batches.append(NormalisedBatch(TOPIC, 0, start, start + len(chunk), rows, rejects))
    return batches


def lake_rows(settings: Settings) -> tuple[list[int], list[int]]:
    """The Kafka offsets of every row of the lake's statements and quarantine."""
    assert settings.lake_location is not None
    statements, quarantine = lake.tables(settings.lake_location)
    return (
        statements.scan().to_arrow()["kafka_offset"].to_pylist(),
        quarantine.scan().to_arrow()["kafka_offset"].to_pylist(),
    )


def test_a_retried_or_overlapping_batch_lands_nothing_twice(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    settings = lake_settings(tmp_path, kafka_broker.bootstrap, TOPIC)
    assert settings.lake_location is not None
    tables = lake.tables(settings.lake_location)
    first, second, third, *_ = normalised_batches(settings, tmp_path, size=100)
    assert lake.land_batch(tables, first) == {"quarantined": 1, "landed": 99}
    assert lake.land_batch(tables, first) == {"already_landed": 100}  # a retried bundle
    rows = pa.concat_tables([first.rows.slice(50), second.rows])
    overlapping = NormalisedBatch(TOPIC, 0, 50, 200, rows, first.rejects + second.rejects)
    assert lake.land_batch(tables, overlapping) == {"quarantined": 1, "landed": 99}
    with pytest.raises(OffsetGap, match=r"batch starts at 300 but offsets from 200"):
        lake.land_batch(tables, NormalisedBatch(TOPIC, 0, 300, 400, third.rows, []))
    assert lake.land_batch(tables, third)["landed"] == 99
    statements, quarantined = lake_rows(settings)
    assert sorted(statements) == [o for o in range(300) if o % 100 != 99]
    assert sorted(quarantined) == [99, 199, 299]
    assert lake.landed_offsets(settings.lake_location, TOPIC) == {0: 300}


def test_a_crash_between_the_quarantine_and_the_statements_lands_the_rest_once(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    settings = lake_settings(tmp_path, kafka_broker.bootstrap, TOPIC)
    assert settings.lake_location is not None
    statements, quarantine = lake.tables(settings.lake_location)
    first, *_ = normalised_batches(settings, tmp_path, size=100)
    # The quarantine's commit alone: what a worker killed before the statements' commit leaves.
    lake.land_rejects(quarantine, first, datetime.now(), dead_letter=None)
    assert lake.land_batch((statements, quarantine), first) == {"landed": 99}
    assert lake_rows(settings) == (list(range(99)), [99])


def test_a_killed_transform_loses_nothing_and_lands_nothing_twice(
    lake_pipeline: Settings, tmp_path: Path
) -> None:
    settings = lake_pipeline.with_overrides(transform_land_rows=1000)
    produced = produce_simulated(settings, tmp_path, learners=600)
    produce_raw(settings, [b'{"id": "not-a-statement"}', b"{oops"] * 5)
    rng = random.Random(26)
    kills = 0
    for _ in range(6):
        run = Transform(settings, "--until-caught-up", "--batch-size", "200")
        moment = rng.choice([" writing ", " committed "])
        if run.wait_for(moment, occurrence=rng.randint(1, 3)) and run.kill():
            kills += 1
        else:
            run.kill()
            break
    assert kills >= 3, f"only {kills} kills before the input was all landed"
    assert lake_statements(settings)[0], "the kills left nothing landed: they came too early"
    run_cli(settings, "transform", "--until-caught-up")
    assert_exactly_once_in_lake(settings, produced)
    _, quarantine = lake.tables(settings.lake_location)  # type: ignore[arg-type]
    assert quarantine.scan().to_arrow().num_rows == 10
    again = orjson.loads(run_cli(settings, "transform", "--until-caught-up").stdout)
    assert again == {"partitions": 0}


def _land_all(lake_value: str, cwd: str, batches: list[NormalisedBatch], seed: int) -> int:
    """A writer process: lands every batch, partitions interleaved in its own order."""
    settings = settings_module.load(environ={"SKILLSTREAM_LAKE": lake_value}, cwd=Path(cwd))
    assert settings.lake_location is not None
    tables = lake.tables(settings.lake_location)
    by_partition: dict[int, list[NormalisedBatch]] = {}
    for batch in batches:
        by_partition.setdefault(batch.partition, []).append(batch)
    rng = random.Random(seed)
    landed = 0
    while by_partition:
        partition = rng.choice(sorted(by_partition))
        landed += lake.land_batch(tables, by_partition[partition].pop(0)).get("landed", 0)
        if not by_partition[partition]:
            del by_partition[partition]
    return landed


def test_concurrent_writers_lose_nothing_and_land_nothing_twice(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    settings = lake_settings(tmp_path, kafka_broker.bootstrap, TOPIC)
    batches = normalised_batches(settings, tmp_path, size=40)
    # Three partitions' worth: each batch's records spread over partitions 0-2 as the
    # producer would, re-numbered so each partition's offsets are consecutive.
    spread: list[NormalisedBatch] = []
    for i, batch in enumerate(batches):
        partition = i % 3
        start = (i // 3) * 40
        rows = batch.rows.set_column(
            batch.rows.schema.get_field_index("kafka_partition"),
            "kafka_partition",
            pa.array([partition] * batch.rows.num_rows, "int32"),
        )
        rows = rows.set_column(
            rows.schema.get_field_index("kafka_offset"),
            "kafka_offset",
            pa.array(range(start, start + rows.num_rows), "int64"),
        )
        spread.append(NormalisedBatch(TOPIC, partition, start, start + 40, rows, []))
    expected = {(b.partition, o) for b in spread for o in b.rows["kafka_offset"].to_pylist()}
    # The same batches from three writers at once: each lands once, whoever commits first.
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        landed = pool.starmap(
            _land_all, [(settings.lake, str(tmp_path), spread, seed) for seed in range(3)]
        )
    assert sum(landed) == len(expected)
    statements, _ = lake.tables(settings.lake_location)  # type: ignore[arg-type]
    rows = statements.scan().to_arrow()
    keys = list(
        zip(rows["kafka_partition"].to_pylist(), rows["kafka_offset"].to_pylist(), strict=True)
    )
    assert len(keys) == len(set(keys)), "a row landed twice"
    assert set(keys) == expected, "a row was lost"
    assert lake.landed_offsets(settings.lake_location, TOPIC) == {  # type: ignore[arg-type]
        p: max(b.end for b in spread if b.partition == p) for p in range(3)
    }


# ---- the marts from the lake -----------------------------------------------------------

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def planted(statements: Path, directory: Path) -> tuple[Path, str, str]:
    """A file of a conflict (a simulated statement's id with other content) and a voiding
    statement (of another simulated statement), to ingest after the simulated file; returns
    it, the conflicting id and the voided id."""
    first, second = (orjson.loads(line) for line in statements.read_bytes().splitlines()[:2])
    conflict = {**first, "timestamp": "2026-01-01T00:00:00Z"}
    void = {
        "id": str(uuid.uuid4()),
        "actor": second["actor"],
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": second["id"]},
        "timestamp": second["timestamp"],
    }
    path = directory / "planted.ndjson"
    path.write_bytes(orjson.dumps(conflict) + b"\n" + orjson.dumps(void) + b"\n")
    return path, first["id"], second["id"]


def same_rows(left: list[tuple], right: list[tuple]) -> bool:
    """Equal rows, floats equal to 12 digits: a sum of doubles depends on the order DuckDB's
    threads add them in, which differs from build to build."""

    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
        return a == b

    return len(left) == len(right) and all(
        len(x) == len(y) and all(map(same, x, y)) for x, y in zip(left, right, strict=True)
    )


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"{sql} ORDER BY ALL").fetchall()
    finally:
        con.close()


def marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        ]
        return {n: con.execute(f"SELECT * FROM marts.{n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


# Two whole runs (transform, dbt build, the gate) of the same input: ~5 min on a quiet machine.
@pytest.mark.timeout(1200)
def test_the_marts_from_the_lake_equal_the_marts_from_the_warehouse(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    topic = f"xapi.statements.{uuid.uuid4().hex[:8]}"
    in_lake = lake_settings(tmp_path / "lake", kafka_broker.bootstrap, topic, k_anonymity="2")
    in_duckdb = make_settings(
        tmp_path / "duckdb",
        bootstrap=kafka_broker.bootstrap,
        statements_topic=topic,
        dlq_topic=f"{topic}.dlq",
        k_anonymity="2",
    )
    kafka.ensure_topics(in_duckdb)
    statements, _ = simulate(in_duckdb, tmp_path, learners=40)
    conflicts_with, voided = planted(statements, tmp_path)[1:]
    corpus = CORPUS / "real" / "datasim-tccc-dev.json"  # 2,814 statements of a real LRS
    run_cli(in_duckdb, "ingest", "file", str(statements), str(corpus))
    # Duplicates: the simulated organisation again; then the conflict and the void.
    run_cli(in_duckdb, "ingest", "file", "--restart", str(statements))
    run_cli(in_duckdb, "ingest", "file", str(tmp_path / "planted.ndjson"))
    produce_raw(in_duckdb, [b'{"id": "not-a-statement"}', b"{oops"])
    roster = statements.with_name("roster.csv")
    for settings in (in_duckdb, in_lake):
        run_cli(settings, "roster", "import", str(roster))
        run_cli(settings, "transform", "--until-caught-up")
        run_cli(settings, "build", "--no-unit-tests")  # exit 0: passed the gate, published

    lake_marts, duckdb_marts = marts(in_lake.warehouse), marts(in_duckdb.warehouse)
    assert sum(map(len, duckdb_marts.values())) > 100, "the marts are (nearly) empty"
    assert set(lake_marts) == set(duckdb_marts)
    differing = [n for n in duckdb_marts if not same_rows(lake_marts[n], duckdb_marts[n])]
    assert differing == [], f"marts that differ: {differing}"
    quarantined = "topic, kafka_partition, kafka_offset, statement_id, source, reasons, payload"
    assert query(in_lake.warehouse, f"SELECT {quarantined} FROM staging.stg_lake__quarantine") == (
        query(in_duckdb.warehouse, f"SELECT {quarantined} FROM raw.quarantine")
    )

    con = duckdb.connect(str(in_lake.warehouse), read_only=True)
    try:
        outcomes = dict(
            con.execute(
                "SELECT outcome, count(*) FROM staging.stg_lake__landed_statements GROUP BY 1"
            ).fetchall()
        )
        is_voided = con.execute(
            "SELECT is_voided FROM staging.stg_xapi__statements WHERE statement_id = ?", [voided]
        ).fetchall()
        conflict = con.execute(
            "SELECT reasons FROM staging.stg_lake__quarantine WHERE statement_id = ?",
            [conflicts_with],
        ).fetchall()
    finally:
        con.close()
    simulated = len(statements.read_bytes().splitlines())
    kept = 2_814 + simulated + 1  # the corpus, the organisation and the void
    assert outcomes == {"kept": kept, "duplicate": simulated, "conflict": 1}
    assert is_voided == [(True,)]
    assert conflict == [
        ([f"id: {conflicts_with} landed before with different content (conflict)"],)
    ]


def test_only_the_choice_of_landed_statements_reads_raw_statements() -> None:
    """Every model reads the landed statements through the macro landed_statements(): in
    the lake mode DuckDB's raw.statements is empty."""
    models = Path(__file__).resolve().parents[2] / "dbt_project" / "models"
    readers = [
        path.name
        for path in models.rglob("*.sql")
        if "source('raw', 'statements')" in path.read_text().replace('"', "'")
    ]
    assert readers == []
