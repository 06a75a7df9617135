"""`skillstream build`: which dbt nodes a build runs."""

from __future__ import annotations

import json

import pytest

from skillstream.settings import Settings
from tests.conftest import run_cli

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
        "check": "not_null",
        "column": "kpi",
        "passed": True,
        "observed": 0,
    } in checks
    expectations = [c for c in checks if c["source"] == "Great Expectations"]
    assert {c["table"] for c in expectations} >= {"raw.statements", "marts.learner_skills"}
    failed = [c for c in expectations if not c["passed"]]
    assert failed and len(failed) == len(latest["failures"])
