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
from skillstream.quality.checkpoint import waiting_for_the_warehouse_lock
from skillstream.quality.gate import run_gate
from skillstream.quality.publish import connect_snapshot
from skillstream.settings import Settings
from skillstream.transforms.land import land_batch
from skillstream.transforms.normalise import normalise_chunk
from skillstream.transforms.records import KafkaRecord, NormalisedBatch
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def land(settings: Settings, statements: list[dict], first_offset: int = 0) -> int:
    records = [
        KafkaRecord(offset, orjson.dumps(statement), "test", 1_782_900_000_000)
        for offset, statement in enumerate(statements, start=first_offset)
    ]
    rows, _ = normalise_chunk(records, 0, settings.learner_salt())
    batch = NormalisedBatch("xapi.statements", 0, first_offset, first_offset + len(records), rows)
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    land_batch(con, batch)
    con.close()
    return len(batch.rows)


def simulated() -> list[dict]:
    _, statements = simulate(learners=40, days=60, seed=9)
    return sorted(statements, key=lambda s: s["timestamp"])


def land_simulated(settings: Settings) -> int:
    return land(settings, simulated())


def failed_checks(record_failures: list[dict[str, str]]) -> set[str]:
    return {f["check"] for f in record_failures}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def coverage(checks: list[dict]) -> set[str]:
    """The rows the gate's expectations of raw.statements' rows (not its totals) covered."""
    return {
        str(c["covered"])
        for c in checks
        if c["source"] == "Great Expectations"
        and c["table"] == "raw.statements"
        and not str(c["covered"]).startswith("table totals")
    }


def test_a_failing_checkpoint_holds_the_build_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    land_simulated(settings)
    good = build(settings, quiet=True)
    assert good.is_published, good.failures

    con = duckdb.connect(str(settings.warehouse))
    # scores out of range, landed after the published build (the gate checks what is new)
    con.execute(
        "UPDATE raw.statements SET score_scaled = 5, landed_at = ? WHERE score_scaled IS NOT NULL",
        [utc_now()],
    )
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

    now = utc_now()
    con = duckdb.connect(str(settings.warehouse))
    # 15 % of the statements vanish (the volume check allows 10 %)
    con.execute(
        "DELETE FROM raw.statements WHERE statement_id IN "
        "(SELECT statement_id FROM raw.statements ORDER BY statement_id LIMIT ?)",
        [landed * 15 // 100],
    )
    # landed after the published build: one statement from the future, one from 1999
    con.execute(
        "UPDATE raw.statements SET occurred_at = ?, landed_at = ? WHERE statement_id = "
        "(SELECT min(statement_id) FROM raw.statements)",
        [now + timedelta(days=2), now],
    )
    con.execute(
        "UPDATE raw.statements SET stored_at = TIMESTAMP '1999-12-31 23:00:00', landed_at = ? "
        "WHERE statement_id = (SELECT max(statement_id) FROM raw.statements)",
        [now],
    )
    # and, in a third row, a raw score above its max
    con.execute(
        "UPDATE raw.statements SET score_raw = score_max + 1, landed_at = ? WHERE statement_id = "
        "(SELECT min(statement_id) FROM raw.statements WHERE score_raw IS NOT NULL "
        "AND landed_at < ?)",
        [now, now],
    )
    # 6 % of the events received quarantined (the limit is 5 %)
    quarantined = landed * 6 // 100 + 1
    con.execute(
        "INSERT INTO raw.quarantine SELECT 'xapi.statements', 1, range, NULL, 'test', "
        "['verb.id: is required'], '{}', ? FROM range(?)",
        [now, quarantined],
    )
    con.close()

    bad = build(settings, quiet=True)
    assert bad.dbt_success and not bad.is_published
    failures = {f["check"]: f["detail"] for f in bad.failures}
    raw = {check for check in failures if check.startswith("gx:raw_statements")}
    assert raw == {
        "gx:raw_statements_totals:expect_table_row_count_to_be_between",
        "gx:raw_statements:timestamps_sane",
        "gx:raw_statements:score_raw_within_min_max",
        "gx:raw_statements_totals:quarantine_share",
    }
    assert failures["gx:raw_statements:timestamps_sane"].startswith(
        "timestamp and stored lie between 2000-01-01 and now"
    )
    assert failures["gx:raw_statements:timestamps_sane"].endswith(": 2")  # two rows
    assert "5.0%" in failures["gx:raw_statements_totals:quarantine_share"]
    assert good.landed_through is not None
    assert coverage(bad.checks) == {f"new slice: 3 rows landed after {good.landed_through[:19]}"}

    # volume is compared with the last *published* build: retrying does not wash it out
    again = build(settings, quiet=True)
    assert "gx:raw_statements_totals:expect_table_row_count_to_be_between" in failed_checks(
        again.failures
    )
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
    assert not any(o.suite.startswith("raw_statements") for o in result.failures)


def test_the_gate_checks_the_rows_landed_since_the_published_build(tmp_path: Path) -> None:
    """Rows a published build checked are not checked again; a full refresh checks them all;
    nothing new for longer than the staleness limit holds a build back."""
    settings = make_settings(tmp_path)  # staleness limit 168 h
    statements = simulated()
    landed = land(settings, statements[:-50])
    two_days_ago = utc_now() - timedelta(hours=48)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("UPDATE raw.statements SET landed_at = ?", [two_days_ago])
    con.close()
    first = build(settings, quiet=True, unit_tests=False)
    assert first.is_published, first.failures
    assert first.landed_through is not None
    assert datetime.fromisoformat(first.landed_through) == two_days_ago
    assert coverage(first.checks) == {f"all {landed:,} rows"}  # no published build before it

    # nothing landed since, two days ago: a 24-hour limit holds the build back
    strict = build(
        make_settings(tmp_path, quality_max_staleness_hours="24"), quiet=True, unit_tests=False
    )
    assert failed_checks(strict.failures) == {"gx:raw_statements_totals:fresh"}
    assert coverage(strict.checks) == {f"new slice: 0 rows landed after {two_days_ago:%F %T}"}

    # a row the published build checked goes bad in place; 50 statements land
    con = duckdb.connect(str(settings.warehouse))
    con.execute(
        "UPDATE raw.statements SET score_raw = score_max + 1 WHERE statement_id = "
        "(SELECT min(statement_id) FROM raw.statements WHERE score_raw IS NOT NULL)"
    )
    con.close()
    assert land(settings, statements[-50:], first_offset=len(statements) - 50) == 50
    second = build(settings, quiet=True, unit_tests=False)
    assert second.is_published, second.failures  # the bad row is not checked again
    assert coverage(second.checks) == {f"new slice: 50 rows landed after {two_days_ago:%F %T}"}

    full = build(settings, quiet=True, full_refresh=True, unit_tests=False)
    assert failed_checks(full.failures) == {"gx:raw_statements:score_raw_within_min_max"}
    assert coverage(full.checks) == {f"all {landed + 50:,} rows"}


def test_an_id_landed_before_the_slice_fails_the_gate(settings: Settings) -> None:
    land_simulated(settings)
    assert run_dbt(settings, "build", "--exclude", "test_type:unit", quiet=True).returncode == 0
    con = duckdb.connect(str(settings.warehouse))
    (checked_after,) = con.execute("SELECT max(landed_at)::VARCHAR FROM raw.statements").fetchone()
    # a statement lands again, after the published build, at a later offset
    con.execute(
        "INSERT INTO raw.statements SELECT * REPLACE (kafka_offset + 100000 AS kafka_offset, "
        "? AS landed_at) FROM raw.statements WHERE statement_id = "
        "(SELECT min(statement_id) FROM raw.statements)",
        [utc_now()],
    )
    con.close()
    result = run_gate(settings, "build-again", checked_after)
    raw = [o for o in result.outcomes if o.suite == "raw_statements"]
    assert {o.expectation for o in raw if not o.success} == {"statement_id_new"}
    assert [o.observed for o in raw if not o.success] == [1]
    assert {o.covered for o in raw} == {f"new slice: 1 row landed after {checked_after[:19]}"}


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


def test_the_gate_keeps_the_validation_results_of_the_newest_builds_only(tmp_path: Path) -> None:
    """Data Docs rebuilds its index from every stored result at each checkpoint: a store that
    grew with every build of `skillstream run` would slow every build down."""
    from skillstream.quality.checkpoint import DATA_DOCS_SITE, prune_validation_results

    settings = make_settings(tmp_path)
    uncommitted = settings.quality_dir / "gx" / "uncommitted"
    stores = [
        uncommitted / "validations",
        uncommitted / "data_docs" / DATA_DOCS_SITE / "validations",
    ]
    builds = [f"build-20261207T{hour:02d}0000000000Z" for hour in range(24)]
    for store in stores:
        for build_id in builds:
            (store / "raw_statements" / build_id / "run").mkdir(parents=True)
            (store / "raw_statements" / build_id / "run" / "result.json").write_text("{}")
    prune_validation_results(settings, keep=5)
    for store in stores:
        assert sorted(p.name for p in (store / "raw_statements").iterdir()) == builds[-5:]
