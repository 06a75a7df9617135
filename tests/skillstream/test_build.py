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
