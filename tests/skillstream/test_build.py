"""`skillstream build`: which dbt nodes a build runs, and no build when nothing is new."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from skillstream import warehouse
from skillstream.build import dbt_vars, input_fingerprint
from skillstream.ingestion.simulate import simulate
from skillstream.settings import Settings
from skillstream.transforms.land import land_batch
from skillstream.transforms.normalise import normalise_chunk
from skillstream.transforms.records import KafkaRecord, NormalisedBatch
from tests.conftest import make_settings, run_cli

pytestmark = pytest.mark.integration


def node_kinds(settings: Settings) -> set[str]:
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    return {result["unique_id"].split(".", 1)[0] for result in results["results"]}


def test_the_scheduled_build_leaves_the_unit_tests_to_ci(settings: Settings) -> None:
    # an empty warehouse: the gate holds the build back, after dbt ran
    run_cli(settings, "build", "--quiet", "--no-unit-tests", check=False)
    assert node_kinds(settings) == {"model", "test"}

    run_cli(settings, "build", "--quiet", check=False)
    assert node_kinds(settings) == {"model", "test", "unit_test"}


def test_a_build_records_every_check_that_ran(settings: Settings) -> None:
    # an empty warehouse: dbt's tests pass, the gate's row count expectation fails
    run_cli(settings, "build", "--quiet", "--no-unit-tests", check=False)
    latest = json.loads((settings.published_dir / "latest.json").read_text())
    checks = latest["checks"]
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    dbt_tests = [r for r in results["results"] if r["unique_id"].startswith("test.")]
    assert len([c for c in checks if c["source"] == "dbt test"]) == len(dbt_tests)
    assert {
        "source": "dbt test",
        "table": "raw.kpi_observations",
        "covered": None,
        "check": "not_null",
        "column": "kpi",
        "passed": True,
        "observed": 0,
    } in checks
    expectations = [c for c in checks if c["source"] == "Great Expectations"]
    assert {c["table"] for c in expectations} >= {"raw.statements", "marts.learner_skills"}
    # no build was published before: every row of raw.statements is checked
    assert {c["covered"] for c in expectations if c["table"] == "raw.statements"} == {
        "all 0 rows",
        "table totals (0 rows)",
    }
    # dbt's slice tests say which rows they read: here every row
    sliced = [c for c in checks if c["check"] in ("unique_among_new", "not_null_among_new")]
    assert sliced and {c["covered"] for c in sliced} == {"all rows"}
    failed = [c for c in expectations if not c["passed"]]
    assert failed and len(failed) == len(latest["failures"])


def land(settings: Settings, statements: list[dict], first_offset: int) -> None:
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


def test_a_build_with_nothing_new_keeps_the_published_build(settings: Settings) -> None:
    _, simulated = simulate(learners=40, days=60, seed=9)
    statements = sorted(simulated, key=lambda s: s["timestamp"])
    earlier, later = statements[:-50], statements[-50:]
    land(settings, earlier, 0)
    run_cli(settings, "build", "--quiet", "--no-unit-tests")
    first = json.loads((settings.published_dir / "current.json").read_text())

    again = run_cli(settings, "build", "--quiet", "--no-unit-tests")
    assert f"nothing new since build {first['build_id']}" in again.stdout
    latest = json.loads((settings.published_dir / "latest.json").read_text())
    assert latest["build_id"] == first["build_id"]  # no dbt, no gate, nothing published

    land(settings, later, len(earlier))  # 50 statements more: something new to model
    run_cli(settings, "build", "--quiet", "--no-unit-tests")
    second = json.loads((settings.published_dir / "current.json").read_text())
    assert second["build_id"] != first["build_id"]
    assert second["newest_event_at"] > first["newest_event_at"]
    assert first["landed_through"] is not None
    assert second["landed_through"] > first["landed_through"]
    # the settings are dbt's only vars: a var that moved with every build would make dbt
    # parse the whole project again each time
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    assert set(results["args"]["vars"]) == set(dbt_vars(settings))

    forced = run_cli(settings, "build", "--quiet", "--no-unit-tests", "--force")
    assert "nothing new" not in forced.stdout
    third = json.loads((settings.published_dir / "current.json").read_text())
    assert third["build_id"] != second["build_id"]


def test_the_inputs_fingerprint_changes_with_what_a_build_reads(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.close()

    def fingerprint(of: Settings) -> str:
        con = warehouse.connect(of)
        try:
            return input_fingerprint(of, con)
        finally:
            con.close()

    empty = fingerprint(settings)
    assert fingerprint(settings) == empty
    assert fingerprint(make_settings(tmp_path, k_anonymity="7")) != empty  # a setting
    catalogue = tmp_path / "skills.csv"
    catalogue.write_text("iri,name\nhttps://skills.example/sql,SQL\n")
    named = make_settings(tmp_path, skills_catalogue=str(catalogue))
    before = fingerprint(named)
    catalogue.write_text("iri,name\nhttps://skills.example/sql,Querying data\n")
    assert fingerprint(named) != before  # the catalogue's content, not only its name
    _, simulated = simulate(learners=2, days=2, seed=1)
    land(settings, list(simulated)[:5], 0)
    assert fingerprint(settings) != empty  # statements landed


def test_a_statement_id_landed_again_after_the_published_build_holds_the_build_back(
    settings: Settings,
) -> None:
    """The checks of a build read only what landed after the published build, and check its
    statement ids against every older row."""
    _, simulated = simulate(learners=20, days=30, seed=4)
    land(settings, sorted(simulated, key=lambda s: s["timestamp"]), 0)
    run_cli(settings, "build", "--quiet", "--no-unit-tests")
    con = warehouse.connect(settings)
    try:  # an old statement again, landed now: as a landing that lost its dedup would
        con.execute(
            "INSERT INTO raw.statements SELECT * REPLACE (current_timestamp::TIMESTAMP AS "
            "landed_at, kafka_offset + 1000000 AS kafka_offset) FROM raw.statements LIMIT 1"
        )
    finally:
        con.close()
    run_cli(settings, "build", "--quiet", "--no-unit-tests", check=False)
    latest = json.loads((settings.published_dir / "latest.json").read_text())
    assert not latest["is_published"]
    assert [f["check"] for f in latest["failures"]] == ["gx:raw_statements:statement_id_new"]


def test_a_build_after_the_settings_change_models_everything_again(tmp_path: Path) -> None:
    """Incremental rows were made with the last build's settings: a changed mastery threshold
    reaches every learner, not only those with something new."""
    _, simulated = simulate(learners=20, days=30, seed=4)
    strict = make_settings(tmp_path, mastery_threshold="0.99")
    land(strict, sorted(simulated, key=lambda s: s["timestamp"]), 0)
    run_cli(strict, "build", "--quiet", "--no-unit-tests")
    lenient = make_settings(tmp_path, mastery_threshold="0.01")
    run_cli(lenient, "build", "--quiet", "--no-unit-tests")
    con = warehouse.connect(lenient)
    try:
        ((scored, mastered),) = con.execute(
            "SELECT count(*) FILTER (WHERE latest_score > 0.01), "
            "count(*) FILTER (WHERE latest_score > 0.01 AND mastered) "
            "FROM intermediate.int_learner_skills_summarised"
        ).fetchall()
    finally:
        con.close()
    assert scored > 0 and mastered == scored
