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
from datetime import date
from pathlib import Path

import duckdb
import pytest

from skillstream.ingestion.simulate import (
    CHECKPOINT_ID,
    COURSE_ID,
    DEFAULT_EFFECTS,
    DROP_OFF_LESSON,
    LESSONS,
    PLANTED_ITEMS,
    SKILLS,
    run,
)
from skillstream.quality.publish import connect_snapshot
from skillstream.settings import Settings
from tests.conftest import make_settings, run_cli

pytestmark = pytest.mark.integration

LEARNERS = 240  # 20 teams: 120 pilot, 120 control
SEED = 2026
SIGMAS = 3.5
SPEND = 1800.0  # not the ROI default, so the test shows settings.toml reaching the marts
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
        str(SEED),
        "--effect",
        f"spend_per_employee_year={SPEND}",
        "--out",
        str(org / "statements.ndjson"),
    )
    # the settings the simulated organisation implies (its ROI assumptions) become the settings
    settings = make_settings(root, config=str(org / "settings.toml"), **topics)
    assert settings.roi.programme_cost_per_learner == SPEND
    run_cli(settings, "up")
    run_cli(settings, "roster", "import", str(org / "roster.csv"))
    run_cli(settings, "kpis", "import", str(org / "kpis.csv"))
    run_cli(settings, "ingest", "file", str(org / "statements.ndjson"))
    run_cli(settings, "transform", "--until-caught-up")
    built = run_cli(settings, "build", "--quiet")
    assert "published" in built.stdout
    current = json.loads((settings.published_dir / "current.json").read_text())
    con = connect_snapshot(current["snapshot"])
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
        cohort: [
            d
            for (d,) in marts.execute(
                "SELECT days_to_competency FROM marts.learner_skills WHERE cohort = ? AND mastered",
                [cohort],
            ).fetchall()
        ]
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
    # the KPI rises from the program start, more in the pilot, and pilot learners reach
    # competency sooner after it: the KPI-linked benefit (around competency) is larger there
    assert rows["pilot"][2] > rows["control"][2] > 0
    assumptions = dict(marts.execute("SELECT name, value FROM marts.roi_assumptions").fetchall())
    assert float(assumptions["programme_cost_per_learner"]) == SPEND
    assert float(assumptions["kpi_value:tickets_resolved_per_day"]) == 12.0


def test_kpi_effects_recover_the_planted_difference_in_differences(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    rows = marts.execute(
        "SELECT quarter, learners, baseline_learners, did, ci_low, ci_high "
        "FROM marts.kpi_effects WHERE kpi = 'tickets_resolved_per_day' AND cohort = 'pilot' "
        "AND baseline_cohort = 'control' ORDER BY quarter"
    ).fetchall()
    # program starts fall in the first 45 days from 2 March: two quarters
    assert [row[0] for row in rows] == ["2026Q1", "2026Q2"]
    assert sum(row[1] for row in rows) == sum(row[2] for row in rows) == LEARNERS // 2
    for quarter, _, _, did, low, high in rows:
        assert low <= EFFECTS.pilot_kpi_effect <= high, (quarter, did, low, high)
        assert low > 0  # the interval excludes "no effect"


def test_roi_seat_time_stands_on_the_learners_who_report_durations(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    simulation, _ = run(LEARNERS, 150, SEED, start=date(2026, 3, 2), effects=EFFECTS)
    unreported = {
        cohort: sum(
            1
            for p in simulation.people
            if p.cohort == cohort and p.index in simulation.unreported_durations
        )
        for cohort in ("pilot", "control")
    }
    assert unreported["pilot"] > 0 and unreported["control"] > 0
    rows = per_cohort(
        marts,
        "SELECT cohort, sum(learners), sum(learners_with_seat_time), "
        "min(seat_time_coverage), max(seat_time_coverage) FROM marts.roi_quarterly GROUP BY 1",
    )
    for cohort, (learners, known, lowest, highest) in rows.items():
        assert known == learners - unreported[cohort], cohort
        assert 0 < lowest <= highest < 1  # every quarter says it stands on fewer than all


def test_item_analysis_flags_the_planted_items(marts: duckdb.DuckDBPyConnection) -> None:
    rows = {
        item: (learners, difficulty, discrimination, flag)
        for item, learners, difficulty, discrimination, flag in marts.execute(
            "SELECT item_id, learners, difficulty, discrimination, flag "
            "FROM marts.item_analysis WHERE assessment_id = ?",
            [CHECKPOINT_ID],
        ).fetchall()
    }
    assert len(rows) == 8 and all(r[0] == LEARNERS for r in rows.values())
    flagged = {item: r[3] for item, r in rows.items() if r[3] is not None}
    assert flagged == {item: flag for flag, item in PLANTED_ITEMS.items()}
    for item, (_, difficulty, discrimination, _) in rows.items():
        if item not in flagged:
            assert 0.2 < difficulty < 0.95 and discrimination > 0, item
    assert rows[PLANTED_ITEMS["negative_discrimination"]][2] < 0
    responses = marts.execute(
        "SELECT response, learners, is_correct FROM marts.item_responses "
        "WHERE item_id = ? ORDER BY response",
        [PLANTED_ITEMS["too_hard"]],
    ).fetchall()
    assert [r[0] for r in responses] == ["a", "b", "c", "d"]
    assert sum(r[1] for r in responses) == LEARNERS
    assert sum(r[2] for r in responses) == 1  # one correct choice, chosen by few
    assert next(r[1] for r in responses if r[2]) < 0.2 * LEARNERS


def test_the_funnel_shows_the_planted_drop_off(marts: duckdb.DuckDBPyConnection) -> None:
    completed = per_cohort(
        marts, "SELECT cohort, sum(completed) FROM marts.cohort_outcomes GROUP BY 1"
    )
    for cohort in ("pilot", "control"):
        steps = marts.execute(
            "SELECT step_kind, step_id, learners_reached FROM marts.program_funnel "
            "WHERE program_id = ? AND cohort = ? ORDER BY step_order",
            [COURSE_ID, cohort],
        ).fetchall()
        assert [kind for kind, _, _ in steps] == ["launched"] + ["module"] * 5 + ["completed"]
        assert [step.rsplit("/", 1)[1] for _, step, _ in steps[1:-1]] == list(LESSONS)
        reached = [n for _, _, n in steps]
        assert reached[0] == LEARNERS // 2 and reached[-1] == completed[cohort][0]
        drops = {steps[i][1]: reached[i - 1] - reached[i] for i in range(2, 6)}
        assert max(drops, key=drops.__getitem__).endswith(f"/{DROP_OFF_LESSON}"), drops


def test_at_risk_are_the_learners_who_stopped(marts: duckdb.DuckDBPyConnection) -> None:
    # the build runs long after the simulated window: everyone who did not complete the
    # course has been inactive for more than a week, and every learner took a lesson
    outcomes = per_cohort(
        marts, "SELECT cohort, sum(enrolled), sum(completed) FROM marts.cohort_outcomes GROUP BY 1"
    )
    latest = per_cohort(
        marts,
        "SELECT cohort, sum(enrolled), sum(at_risk) FROM marts.at_risk_weekly "
        "WHERE week_start = (SELECT max(week_start) FROM marts.at_risk_weekly) GROUP BY 1",
    )
    listed = per_cohort(marts, "SELECT cohort, count(*) FROM marts.at_risk_learners GROUP BY 1")
    for cohort, (enrolled, completed) in outcomes.items():
        assert latest[cohort] == (enrolled, enrolled - completed), cohort
        # the learner-level list is the current week's count, learner by learner
        assert listed[cohort] == (enrolled - completed,), cohort
    # the trend starts at nobody at risk in the first week (no one has been away 7 days)
    (first_week_at_risk,) = marts.execute(
        "SELECT sum(at_risk) FROM marts.at_risk_weekly "
        "WHERE week_start = (SELECT min(week_start) FROM marts.at_risk_weekly)"
    ).fetchone()
    assert first_week_at_risk == 0


def test_engagement_by_hour_adds_up_to_the_weekly_sessions(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    by_hour = per_cohort(
        marts, "SELECT cohort, sum(sessions) FROM marts.engagement_by_hour GROUP BY 1"
    )
    weekly = per_cohort(
        marts, "SELECT cohort, sum(sessions) FROM marts.engagement_weekly GROUP BY 1"
    )
    assert by_hour == weekly
