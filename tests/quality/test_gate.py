"""The publish gate: a build that fails Great Expectations is held back, readers keep the last
published one and can tell; every run is recorded in quality.runs and Data Docs are written."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pytest
import sqlalchemy

from skillstream import warehouse
from skillstream.build import build, run_dbt
from skillstream.ingestion.simulate import simulate
from skillstream.quality.checkpoint import run_gate, waiting_for_the_warehouse_lock
from skillstream.quality.publish import connect_snapshot
from skillstream.settings import Settings
from skillstream.transforms.land import land_batch
from skillstream.transforms.normalise import normalise_chunk
from skillstream.transforms.records import KafkaRecord, NormalisedBatch
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def land_simulated(settings: Settings) -> int:
    _, statements = simulate(learners=40, days=60, seed=9)
    records = [
        KafkaRecord(offset, orjson.dumps(statement), "test", 1_782_900_000_000)
        for offset, statement in enumerate(statements)
    ]
    rows, _ = normalise_chunk(records, 0, settings.learner_salt())
    batch = NormalisedBatch("xapi.statements", 0, 0, len(records), rows)
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    land_batch(con, batch)
    con.close()
    return len(batch.rows)


def failed_checks(record_failures: list[dict[str, str]]) -> set[str]:
    return {f["check"] for f in record_failures}


def test_a_failing_checkpoint_holds_the_build_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    land_simulated(settings)
    good = build(settings, quiet=True)
    assert good.is_published, good.failures

    con = duckdb.connect(str(settings.warehouse))
    con.execute("UPDATE raw.statements SET score_scaled = 5 WHERE score_scaled IS NOT NULL")
    con.close()
    bad = build(settings, quiet=True)

    assert not bad.is_published
    assert bad.dbt_success and bad.gate_success is False
    assert "gx:raw_statements:expect_column_values_to_be_between:score_scaled" in failed_checks(
        bad.failures
    )
    current = json.loads((settings.published_dir / "current.json").read_text())
    latest = json.loads((settings.published_dir / "latest.json").read_text())
    assert current["build_id"] == good.build_id
    assert latest["build_id"] == bad.build_id and latest["is_published"] is False
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    runs = con.execute(
        "SELECT build_id, is_published, gate_success FROM quality.runs ORDER BY started_at"
    ).fetchall()
    con.close()
    assert runs == [(good.build_id, True, True), (bad.build_id, False, False)]

    # the dashboard keeps showing the good build and says the newest was held back, and why
    for name, value in settings.as_env().items():
        monkeypatch.setenv(name, value)
    from skillstream.dashboards.data import published_build

    shown = published_build()
    assert shown is not None and shown.build_id == good.build_id
    assert shown.newest_build_id == bad.build_id and not shown.newest_is_published
    assert any("score_scaled" in f["check"] for f in shown.newest_failures)
    snapshot = connect_snapshot(shown.snapshot)
    (built,) = snapshot.execute("SELECT build_id FROM meta.build").fetchone() or ("",)
    snapshot.close()
    assert built == good.build_id


def test_each_raw_check_names_what_is_wrong(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, quality_max_staleness_hours="24")
    landed = land_simulated(settings)
    good = build(settings, quiet=True)
    assert good.is_published, good.failures
    assert good.data_docs and Path(good.data_docs).exists(), "Data Docs written"
    docs = Path(good.data_docs).read_text()
    assert "raw_statements" in docs and "marts_cohort_competency" in docs

    now = datetime.now(UTC).replace(tzinfo=None)
    con = duckdb.connect(str(settings.warehouse))
    # 15 % of the statements vanish (the volume check allows 10 %)
    con.execute(
        "DELETE FROM raw.statements WHERE statement_id IN "
        "(SELECT statement_id FROM raw.statements ORDER BY statement_id LIMIT ?)",
        [landed * 15 // 100],
    )
    # one statement from the future, one from 1999
    con.execute(
        "UPDATE raw.statements SET occurred_at = ? WHERE statement_id = "
        "(SELECT min(statement_id) FROM raw.statements)",
        [now + timedelta(days=2)],
    )
    con.execute(
        "UPDATE raw.statements SET stored_at = TIMESTAMP '1999-12-31 23:00:00' WHERE statement_id "
        "= (SELECT max(statement_id) FROM raw.statements)"
    )
    # a raw score above its max
    con.execute(
        "UPDATE raw.statements SET score_raw = score_max + 1 WHERE statement_id = "
        "(SELECT min(statement_id) FROM raw.statements WHERE score_raw IS NOT NULL)"
    )
    # 6 % of the events received quarantined (the limit is 5 %)
    quarantined = landed * 6 // 100 + 1
    con.execute(
        "INSERT INTO raw.quarantine SELECT 'xapi.statements', 1, range, NULL, 'test', "
        "['verb.id: is required'], '{}', ? FROM range(?)",
        [now, quarantined],
    )
    # nothing landed for two days (staleness limit 24 h)
    con.execute("UPDATE raw.statements SET landed_at = ?", [now - timedelta(hours=48)])
    con.close()

    bad = build(settings, quiet=True)
    assert bad.dbt_success and not bad.is_published
    failures = {f["check"]: f["detail"] for f in bad.failures}
    raw = {check for check in failures if check.startswith("gx:raw_statements:")}
    assert raw == {
        "gx:raw_statements:expect_table_row_count_to_be_between",
        "gx:raw_statements:timestamps_sane",
        "gx:raw_statements:score_raw_within_min_max",
        "gx:raw_statements:quarantine_share",
        "gx:raw_statements:fresh",
    }
    assert failures["gx:raw_statements:timestamps_sane"].startswith(
        "timestamp and stored lie between 2000-01-01 and now"
    )
    assert failures["gx:raw_statements:timestamps_sane"].endswith(": 2")  # two rows
    assert "5.0%" in failures["gx:raw_statements:quarantine_share"]

    # volume is compared with the last *published* build: retrying does not wash it out
    again = build(settings, quiet=True)
    assert "gx:raw_statements:expect_table_row_count_to_be_between" in failed_checks(again.failures)
    current = json.loads((settings.published_dir / "current.json").read_text())
    assert current["build_id"] == good.build_id


def test_mart_suites_catch_inconsistent_marts(settings: Settings) -> None:
    land_simulated(settings)
    assert run_dbt(settings, "build", quiet=True).returncode == 0
    passed = run_gate(settings, "build-before")
    assert passed.success, passed.failures
    con = duckdb.connect(str(settings.warehouse))
    con.execute("UPDATE marts.cohort_outcomes SET is_small_group = NOT is_small_group")
    con.execute("UPDATE marts.cohort_competency SET learners_mastered = learners + 1")
    con.execute("UPDATE marts.capability_matrix SET mastery_rate = 1.5")
    con.execute("UPDATE marts.roi_quarterly SET net_benefit = net_benefit + 1")
    con.execute("DROP TABLE marts.engagement_weekly")
    con.close()
    result = run_gate(settings, "build-after")
    assert not result.success
    failed = {(o.suite, o.expectation, o.column) for o in result.failures}
    assert failed >= {
        ("marts_cohort_outcomes", "small_groups_flagged", None),
        ("marts_cohort_competency", "expect_column_pair_values_a_to_be_greater_than_b", None),
        ("marts_cohort_competency", "consistent_n", None),
        ("marts_capability_matrix", "expect_column_values_to_be_between", "mastery_rate"),
        ("marts_roi_quarterly", "phillips_arithmetic", None),
        ("marts_engagement_weekly", "table_exists", None),
    }
    assert not any(o.suite == "raw_statements" for o in result.failures)


def test_a_failing_dbt_build_holds_the_build_back(settings: Settings) -> None:
    land_simulated(settings)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("ALTER TABLE raw.roster RENAME COLUMN cohort TO cohort_name")  # a broken source
    con.close()
    record = build(settings, quiet=True)
    assert not record.is_published and not record.dbt_success and record.gate_success is None
    assert any(f["check"] == "dbt:model.skillstream.stg_hr__roster" for f in record.failures)
    assert not (settings.published_dir / "current.json").exists()


def test_the_gates_connections_wait_while_a_transform_holds_the_warehouse(
    settings: Settings,
) -> None:
    """A transform landing a batch holds the warehouse for a moment; GX's SQLAlchemy engine
    waits for it like every other connection, so the gate does not fail on the lock."""
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print(flush=True); "
            "time.sleep(3); c.close(); print('released', flush=True); time.sleep(30)",
            str(settings.warehouse),
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline()  # the lock is held now
    with waiting_for_the_warehouse_lock(settings):  # around the gate's whole checkpoint
        engine = sqlalchemy.create_engine(f"duckdb:///{settings.warehouse}")
        try:
            with engine.connect() as connection:
                count = connection.execute(sqlalchemy.text("SELECT count(*) FROM raw.statements"))
                assert count.scalar() == 0
            # it waited for the writer to let go rather than failing
            assert holder.stdout.readline().strip() == b"released"
        finally:
            engine.dispose()
            holder.kill()
            holder.wait(timeout=30)
