"""The publish gate: a build that fails Great Expectations is held back, readers keep the last
published one and can tell."""

from __future__ import annotations

import json

import duckdb
import orjson
import pytest

from skillstream import warehouse
from skillstream.build import build
from skillstream.ingestion.simulate import simulate
from skillstream.settings import Settings
from skillstream.transforms.land import land_batch
from skillstream.transforms.normalise import KafkaRecord, NormalisedBatch, normalise_record

pytestmark = pytest.mark.integration


def land_simulated(settings: Settings) -> None:
    _, statements = simulate(learners=40, days=60, seed=9)
    batch = NormalisedBatch("xapi.statements", 0, 0, 0)
    for offset, statement in enumerate(statements):
        record = KafkaRecord(offset, orjson.dumps(statement), "test", 1_782_900_000_000)
        row, _ = normalise_record(record, 0, settings.learner_salt())
        batch.rows.append(row)
        batch.end = offset + 1
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    land_batch(con, batch)
    con.close()


def test_a_failing_checkpoint_holds_the_build_back(settings: Settings) -> None:
    land_simulated(settings)
    good = build(settings, quiet=True)
    assert good.is_published, good.failures

    con = duckdb.connect(str(settings.warehouse))
    con.execute("UPDATE raw.statements SET score_scaled = 5 WHERE score_scaled IS NOT NULL")
    con.close()
    bad = build(settings, quiet=True)

    assert not bad.is_published
    assert bad.dbt_success and bad.gate_success is False
    assert [f["check"] for f in bad.failures] == [
        "gx:raw_statements:expect_column_values_to_be_between:score_scaled"
    ]
    current = json.loads((settings.published_dir / "current.json").read_text())
    latest = json.loads((settings.published_dir / "latest.json").read_text())
    assert current["build_id"] == good.build_id
    assert latest["build_id"] == bad.build_id and latest["is_published"] is False
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    runs = con.execute(
        "SELECT build_id, is_published FROM quality.runs ORDER BY started_at"
    ).fetchall()
    con.close()
    assert runs == [(good.build_id, True), (bad.build_id, False)]


def test_a_failing_dbt_build_holds_the_build_back(settings: Settings) -> None:
    land_simulated(settings)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("ALTER TABLE raw.roster RENAME COLUMN cohort TO cohort_name")  # a broken source
    con.close()
    record = build(settings, quiet=True)
    assert not record.is_published and not record.dbt_success and record.gate_success is None
    assert any(f["check"] == "dbt:model.skillstream.stg_hr__roster" for f in record.failures)
    assert not (settings.published_dir / "current.json").exists()
