"""Known answer: the marts recover the effects the simulator planted.

A simulated organisation goes through the whole chain as a user would run it (simulate ->
ingest file -> Kafka -> transform -> DuckDB -> build -> gate -> published snapshot), and the
published marts must give back the planted completion, mastery, time to competency and
30-day retention of each cohort, within tolerances derived from n: 3.5 standard errors
(a binomial share: sqrt(p(1-p)/n); a median of lognormal days with σ = 0.5:
1.2533 σ m / sqrt(n)). The seed is fixed, so the test is deterministic; the tolerances say
how far an honest estimate from this many learners can be from the truth.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from skillstream.ingestion.simulate import DEFAULT_EFFECTS, SKILLS
from skillstream.settings import Settings
from tests.conftest import make_settings, run_cli

pytestmark = pytest.mark.integration

LEARNERS = 240  # 20 teams: 120 pilot, 120 control
SIGMAS = 3.5
SPEND = 1800.0  # not the ROI default, so the test shows roi.toml reaching the marts
EFFECTS = DEFAULT_EFFECTS.with_settings([f"spend_per_employee_year={SPEND}"])
TRUTH = {
    "control": {
        "completion": EFFECTS.control_completion,
        "mastery": EFFECTS.control_mastery,
        "median_days": EFFECTS.median_days_to_competency("control"),
        "retention": EFFECTS.retention("control"),
    },
    "pilot": {
        "completion": EFFECTS.pilot_completion,
        "mastery": EFFECTS.pilot_mastery,
        "median_days": EFFECTS.median_days_to_competency("pilot"),
        "retention": EFFECTS.retention("pilot"),
    },
}


def share_tolerance(p: float, n: int) -> float:
    return SIGMAS * math.sqrt(p * (1 - p) / n)


def median_tolerance(median: float, n: int) -> float:
    return SIGMAS * 1.2533 * 0.5 * median / math.sqrt(n)


@pytest.fixture(scope="module")
def marts(
    kafka_broker: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    root: Path = tmp_path_factory.mktemp("known_answer")
    org = root / "org"
    topics = {
        "bootstrap": kafka_broker.bootstrap,
        "statements_topic": "xapi.statements.known",
        "dlq_topic": "xapi.dlq.known",
    }
    settings = make_settings(root, **topics)
    run_cli(
        settings,
        "simulate",
        "--learners",
        str(LEARNERS),
        "--days",
        "150",
        "--start",
        "2026-03-02",
        "--seed",
        "2026",
        "--effect",
        f"spend_per_employee_year={SPEND}",
        "--out",
        str(org / "statements.ndjson"),
    )
    # the ROI assumptions the simulated organisation implies become the settings
    settings = make_settings(root, config=str(org / "roi.toml"), **topics)
    assert settings.roi.programme_cost_per_learner == SPEND
    run_cli(settings, "up")
    run_cli(settings, "roster", "import", str(org / "roster.csv"))
    run_cli(settings, "kpis", "import", str(org / "kpis.csv"))
    run_cli(settings, "ingest", "file", str(org / "statements.ndjson"))
    run_cli(settings, "transform", "--until-caught-up")
    built = run_cli(settings, "build", "--quiet")
    assert "published" in built.stdout
    current = json.loads((settings.published_dir / "current.json").read_text())
    con = duckdb.connect(current["snapshot"], read_only=True)
    yield con
    con.close()


def per_cohort(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, tuple]:
    return {row[0]: tuple(row[1:]) for row in con.execute(sql).fetchall()}


def test_completion_is_recovered(marts: duckdb.DuckDBPyConnection) -> None:
    rows = per_cohort(
        marts,
        "SELECT cohort, sum(enrolled), sum(completed) FROM marts.cohort_outcomes GROUP BY 1",
    )
    assert set(rows) == {"pilot", "control"}
    for cohort, (enrolled, completed) in rows.items():
        assert enrolled == LEARNERS // 2
        truth = TRUTH[cohort]["completion"]
        assert abs(completed / enrolled - truth) <= share_tolerance(truth, enrolled), cohort


def test_mastery_and_time_to_competency_are_recovered(marts: duckdb.DuckDBPyConnection) -> None:
    rows = per_cohort(
        marts,
        "SELECT cohort, sum(learners), sum(learners_mastered) FROM marts.cohort_competency "
        "GROUP BY 1",
    )
    for cohort, (learners, mastered) in rows.items():
        assert learners == LEARNERS // 2 * len(SKILLS)
        truth = TRUTH[cohort]["mastery"]
        assert abs(mastered / learners - truth) <= share_tolerance(truth, learners), cohort
    days = {
        cohort: [d for (d,) in marts.execute(
            "SELECT days_to_competency FROM marts.learner_skills "
            "WHERE cohort = ? AND mastered",
            [cohort],
        ).fetchall()]
        for cohort in ("pilot", "control")
    }
    for cohort, values in days.items():
        truth = TRUTH[cohort]["median_days"]
        measured = statistics.median(values)
        assert abs(measured - truth) <= median_tolerance(truth, len(values)), (cohort, measured)
    # the pilot's time to competency is half the control's (planted: -50 %)
    ratio = statistics.median(days["pilot"]) / statistics.median(days["control"])
    assert 0.5 * (1 - 0.25) <= ratio <= 0.5 * (1 + 0.25)


def test_retention_is_recovered_and_doubled(marts: duckdb.DuckDBPyConnection) -> None:
    rows = per_cohort(
        marts,
        "SELECT cohort, sum(retention_30d_checked), "
        "sum(retention_30d_rate * retention_30d_checked) FROM marts.cohort_competency "
        "GROUP BY 1",
    )
    for cohort, (checked, retained) in rows.items():
        assert checked > 50
        truth = TRUTH[cohort]["retention"]
        assert abs(retained / checked - truth) <= share_tolerance(truth, int(checked)), cohort


def test_the_comparison_finds_the_planted_differences(marts: duckdb.DuckDBPyConnection) -> None:
    rows = {
        (metric, subject): (difference, low, high, n, baseline_n)
        for metric, subject, difference, low, high, n, baseline_n in marts.execute(
            "SELECT metric, subject_id, difference, ci_low, ci_high, n, baseline_n "
            "FROM marts.cohort_comparison WHERE cohort = 'pilot' AND baseline_cohort = 'control'"
        ).fetchall()
    }
    completion = [v for (metric, _), v in rows.items() if metric == "completion_rate"]
    assert len(completion) == 1
    difference, low, high, n, baseline_n = completion[0]
    assert n == baseline_n == LEARNERS // 2
    truth = EFFECTS.pilot_completion - EFFECTS.control_completion
    tolerance = SIGMAS * math.sqrt(0.75 * 0.25 / n + 0.25 * 0.75 / baseline_n)
    assert abs(difference - truth) <= tolerance
    assert 0 < low <= difference <= high  # the interval excludes "no effect"
    for skill in SKILLS:
        difference, low, high, n, baseline_n = rows[("median_days_to_competency", skill)]
        truth = EFFECTS.median_days_to_competency("pilot") - EFFECTS.control_days_to_competency
        tolerance = median_tolerance(EFFECTS.control_days_to_competency, baseline_n)
        assert abs(difference - truth) <= tolerance
        assert low <= difference <= high < 0  # the pilot is faster, and the interval says so
        difference, low, high, n, baseline_n = rows[("retention_30d_rate", skill)]
        assert difference > 0  # doubled retention


def test_tutor_engagement_appears_only_in_the_pilot(marts: duckdb.DuckDBPyConnection) -> None:
    rows = per_cohort(
        marts,
        "SELECT cohort, sum(hints_requested), sum(feedback_given), sum(practice_attempts), "
        "sum(sessions) FROM marts.engagement_weekly GROUP BY 1",
    )
    assert rows["control"][0] == rows["control"][1] == 0
    assert rows["pilot"][0] > 0 and rows["pilot"][1] > 0
    assert rows["pilot"][2] > 0 and rows["control"][2] > 0
    assert rows["pilot"][3] > 0 and rows["control"][3] > 0


def test_roi_counts_every_learner_at_the_planted_spend(marts: duckdb.DuckDBPyConnection) -> None:
    rows = per_cohort(
        marts,
        "SELECT cohort, sum(learners), sum(programme_cost), sum(kpi_value) "
        "FROM marts.roi_quarterly GROUP BY 1",
    )
    for cohort, (learners, programme_cost, _) in rows.items():
        assert learners == LEARNERS // 2, cohort
        assert programme_cost == pytest.approx(learners * SPEND)
    # more pilot learners reach competency, so the KPI-linked benefit is larger there
    assert rows["pilot"][2] > rows["control"][2] > 0
    assumptions = dict(
        marts.execute("SELECT name, value FROM marts.roi_assumptions").fetchall()
    )
    assert float(assumptions["programme_cost_per_learner"]) == SPEND
    assert float(assumptions["kpi_value:tickets_resolved_per_day"]) == 12.0
