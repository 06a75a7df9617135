"""Known answer: marts.kpi_effects recovers a planted difference in differences of a KPI.

40 pilot and 50 control learners start program P in July 2026; every learner's KPI rises by
TREND after their start, the pilot's by EFFECT more, with noise. The mart must give back
EFFECT within its 95 % interval, and each group's mean change.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pytest

from skillstream import warehouse
from skillstream.settings import Settings
from tests.conftest import make_settings
from tests.dbt_project.test_marts import P, dbt_build, land, stmt

pytestmark = pytest.mark.integration

TREND, EFFECT = 2.0, 3.0
COHORTS = {"pilot": 40, "control": 50}


def planted() -> tuple[list[dict], list[tuple], list[tuple]]:
    rng = np.random.default_rng(24)
    statements, roster, kpis = [], [], []
    for cohort, learners in COHORTS.items():
        for i in range(learners):
            learner = f"{cohort}-{i:02d}"
            start = date(2026, 7, 1) + timedelta(days=i % 10)
            at = f"{start} 09:00"
            statements.append(stmt(len(statements) + 1, learner, "launched", P, at, declares=(P,)))
            roster.append((learner, cohort, "acme", cohort, "analyst", cohort == "pilot", 50.0))
            level = 10.0 + i % 7
            gain = TREND + (EFFECT if cohort == "pilot" else 0.0)
            for offset, shift in ((-20, 0), (-10, 0), (-5, 0), (5, gain), (15, gain), (25, gain)):
                day = start + timedelta(days=offset)
                kpis.append((learner, None, "tickets", day, level + shift + rng.normal(0, 1)))
            # outside both 30-day windows: ignored
            kpis.append((learner, None, "tickets", start + timedelta(days=45), 500.0))
    kpis.append((None, "pilot", "tickets", date(2026, 7, 20), 900.0))  # a team's: left out
    return statements, roster, kpis


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("kpi_effects"))
    statements, roster, kpis = planted()
    land(settings, statements, "2026-09-01 00:00")
    con = warehouse.connect(settings)
    try:
        con.executemany("INSERT INTO raw.roster VALUES (?, ?, ?, ?, ?, ?, ?, now())", roster)
        con.executemany("INSERT INTO raw.kpi_observations VALUES (?, ?, ?, ?, ?, now())", kpis)
    finally:
        con.close()
    dbt_build(settings, "--select", "+kpi_effects")
    return settings


def test_kpi_effects_recovers_the_planted_difference_in_differences(built: Settings) -> None:
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        rows = con.execute("SELECT * FROM marts.kpi_effects").df()
    finally:
        con.close()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["kpi"], row["quarter"], row["cohort"], row["baseline_cohort"]) == (
        "tickets",
        "2026Q3",
        "pilot",
        "control",
    )
    assert (row["learners"], row["baseline_learners"]) == (40, 50)
    assert row["change"] == pytest.approx(TREND + EFFECT, abs=0.5)
    assert row["baseline_change"] == pytest.approx(TREND, abs=0.5)
    assert row["did"] == pytest.approx(row["change"] - row["baseline_change"])
    assert row["ci_low"] < EFFECT < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] < 1.5
