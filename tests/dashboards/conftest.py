"""A published build with known marts, made through the real publish step.

The marts are small and hand-made at the grain and with the columns agreed between the
engineers (docs/design.md §4 plus the learner-grain marts), so each page's numbers are known.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from skillstream import warehouse
from skillstream.quality.publish import BuildRecord, new_build_id, record_build
from skillstream.settings import Settings

P1 = "https://lms.example/courses/p1"
P2 = "https://lms.example/courses/p2"
SKILL = "https://skills.example/data-analysis"
QUARTER = "2026Q3"

OUTCOMES = [
    # cohort, program, quarter, enrolled, completed, seat hours
    ("pilot", P1, QUARTER, 40, 30, 120.0),
    ("control", P1, QUARTER, 36, 9, 80.0),
    ("pilot", P2, QUARTER, 3, 1, 4.0),  # under k = 5
]
# marts.roi_quarterly of QUARTER: hand-typed, so the report tests check the mart's own numbers
ROI = [
    # cohort, learners, costs, benefits, net_benefit, roi_pct, bcr, payback_months,
    # programme_cost, seat_time_cost, seat_time_saved_value, competency_days_value, kpi_value
    (
        "pilot",
        40,
        67440.0,
        96440.0,
        29000.0,
        43.0012,
        1.430012,
        8.391539,
        60000.0,
        7440.0,
        -2640.0,
        97080.0,
        2000.0,
    ),
    ("control", 36, 58800.0, 0.0, -58800.0, -100.0, 0.0, None, 54000.0, 4800.0, 0.0, 0.0, 0.0),
]
ASSUMPTIONS = [
    # name, value (text), numeric value, unit, description
    ("programme_cost_per_learner", "1500.0", 1500.0, "USD per learner", "programme spend"),
    ("loaded_hourly_cost", "60.0", 60.0, "USD per hour", "loaded cost of a learner's hour"),
    ("value_of_competent_day", "250.0", 250.0, "USD per day", "value of a day sooner"),
    ("baseline_cohort", "control", None, "cohort", "the cohort compared against"),
    ("benefit_period_months", "12", 12.0, "months", "period of the benefits"),
    ("kpi_value:tickets_closed", "2.5", 2.5, "USD per unit per day", "value of one ticket"),
]
COMPARISON = [
    ("pilot", "control", P1, "completion_rate", 0.75, 0.25, 0.5, 0.29, 0.65, 40, 36),
    (
        "pilot",
        "control",
        SKILL,
        "median_days_to_competency",
        12.0,
        22.0,
        -10.0,
        -12.0,
        -8.0,
        28,
        12,
    ),
]


def learner_programs() -> list[tuple]:
    """One row per learner × program, matching OUTCOMES."""
    rows = []
    for cohort, program, quarter, enrolled, completed, hours in OUTCOMES:
        team = "team-a" if cohort == "pilot" else "team-b"
        for i in range(enrolled):
            learner = f"{cohort}-{i:02d}"
            role = "analyst" if i % 2 == 0 else "engineer"
            seen = datetime(2026, 7, 1) + timedelta(days=i % 20)
            done = i < completed
            rows.append(
                (
                    learner,
                    program,
                    cohort,
                    "acme",
                    team,
                    role,
                    cohort == "pilot",
                    quarter,
                    seen,
                    done,
                    seen + timedelta(days=14) if done else None,
                    hours / enrolled,
                )
            )
    return rows


def learner_skills() -> list[tuple]:
    """Pilot: 40 learners, 28 mastered in 10–14 days; control: 36 learners, 12 in 20–24 days."""
    rows = []
    for cohort, learners, mastered, base_days in (("pilot", 40, 28, 10), ("control", 36, 12, 20)):
        team = "team-a" if cohort == "pilot" else "team-b"
        for i in range(learners):
            learner = f"{cohort}-{i:02d}"
            role = "analyst" if i % 2 == 0 else "engineer"
            seen = datetime(2026, 7, 1) + timedelta(days=i % 20)
            is_mastered = i < mastered
            days = float(base_days + i % 5) if is_mastered else None
            checked = is_mastered and i % 2 == 0
            rows.append(
                (
                    learner,
                    SKILL,
                    cohort,
                    "acme",
                    team,
                    role,
                    QUARTER,
                    seen,
                    is_mastered,
                    seen + timedelta(days=days) if days is not None else None,
                    days,
                    0.9 if is_mastered else 0.5,
                    checked,
                    (i % 4 == 0) if checked else None,
                )
            )
    return rows


def engagement_weekly() -> list[tuple]:
    return [
        (date(2026, 7, 6), "pilot", "acme", "team-a", "analyst", 40, 80, 2400.0, 120, 30, 15),
        (date(2026, 7, 13), "pilot", "acme", "team-a", "analyst", 38, 70, 2100.0, 100, 25, 12),
        (date(2026, 7, 6), "control", "acme", "team-b", "analyst", 36, 50, 1500.0, 60, 0, 0),
        (date(2026, 7, 13), "control", "acme", "team-b", "analyst", 30, 40, 1200.0, 50, 0, 0),
        (date(2026, 7, 6), "unassigned", "acme", "team-c", "analyst", 2, 2, 30.0, 1, 0, 0),
    ]


MARTS_DDL = """
CREATE OR REPLACE TABLE marts.cohort_outcomes (
    cohort VARCHAR, program_id VARCHAR, quarter VARCHAR, enrolled BIGINT, completed BIGINT,
    completion_rate DOUBLE, seat_time_hours DOUBLE, is_small_group BOOLEAN);
CREATE OR REPLACE TABLE marts.learner_programs (
    learner_id VARCHAR, program_id VARCHAR, cohort VARCHAR, org VARCHAR, team VARCHAR,
    role VARCHAR, is_pilot BOOLEAN, quarter VARCHAR, first_seen_at TIMESTAMP, completed BOOLEAN,
    completed_at TIMESTAMP, seat_time_hours DOUBLE);
CREATE OR REPLACE TABLE marts.learner_skills (
    learner_id VARCHAR, skill_id VARCHAR, cohort VARCHAR, org VARCHAR, team VARCHAR,
    role VARCHAR, quarter VARCHAR, first_seen_at TIMESTAMP, mastered BOOLEAN,
    mastered_at TIMESTAMP, days_to_competency DOUBLE, latest_score DOUBLE,
    retention_30d_checked BOOLEAN, retention_30d_retained BOOLEAN);
CREATE OR REPLACE TABLE marts.engagement_weekly (
    week_start DATE, cohort VARCHAR, org VARCHAR, team VARCHAR, role VARCHAR,
    active_learners BIGINT, sessions BIGINT, active_minutes DOUBLE, practice_attempts BIGINT,
    hints_requested BIGINT, feedback_given BIGINT);
CREATE OR REPLACE TABLE marts.roi_assumptions (
    name VARCHAR, value VARCHAR, numeric_value DOUBLE, unit VARCHAR, description VARCHAR);
CREATE OR REPLACE TABLE marts.roi_quarterly (
    quarter VARCHAR, cohort VARCHAR, learners BIGINT, costs DOUBLE, benefits DOUBLE,
    net_benefit DOUBLE, roi_pct DOUBLE, bcr DOUBLE, payback_months DOUBLE, programme_cost DOUBLE,
    seat_time_cost DOUBLE, seat_time_saved_value DOUBLE, competency_days_value DOUBLE,
    kpi_value DOUBLE, is_small_group BOOLEAN);
CREATE OR REPLACE TABLE marts.cohort_comparison (
    cohort VARCHAR, baseline_cohort VARCHAR, subject_id VARCHAR, metric VARCHAR, value DOUBLE,
    baseline_value DOUBLE, difference DOUBLE, ci_low DOUBLE, ci_high DOUBLE, n BIGINT,
    baseline_n BIGINT);
"""

DERIVED = """
CREATE OR REPLACE TABLE marts.cohort_competency AS
SELECT cohort, skill_id, quarter, count(*)::BIGINT AS learners,
       count(*) FILTER (WHERE mastered)::BIGINT AS learners_mastered,
       avg(mastered::INTEGER) AS mastery_rate,
       median(days_to_competency) AS median_days_to_competency,
       quantile_cont(days_to_competency, 0.75) AS p75_days_to_competency,
       count(*) FILTER (WHERE retention_30d_checked)::BIGINT AS retention_30d_checked,
       avg(retention_30d_retained::INTEGER) AS retention_30d_rate
FROM marts.learner_skills GROUP BY ALL;
CREATE OR REPLACE TABLE marts.capability_matrix AS
SELECT team, skill_id, count(*)::BIGINT AS learners,
       count(*) FILTER (WHERE mastered)::BIGINT AS mastered, avg(mastered::INTEGER) AS mastery_rate
FROM marts.learner_skills GROUP BY ALL;
-- a team of the roster whose 7 members have no statement on the skill yet
INSERT INTO marts.capability_matrix
VALUES ('team-c', 'https://skills.example/data-analysis', 7, 0, 0.0);
"""


def write_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(MARTS_DDL)
    con.executemany(
        "INSERT INTO marts.cohort_outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(c, p, q, e, d, d / e, h, e < 5) for c, p, q, e, d, h in OUTCOMES],
    )
    con.executemany(
        "INSERT INTO marts.learner_programs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        learner_programs(),
    )
    con.executemany(
        "INSERT INTO marts.learner_skills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        learner_skills(),
    )
    con.executemany(
        "INSERT INTO marts.engagement_weekly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        engagement_weekly(),
    )
    con.executemany("INSERT INTO marts.roi_assumptions VALUES (?, ?, ?, ?, ?)", ASSUMPTIONS)
    con.executemany(
        "INSERT INTO marts.roi_quarterly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(QUARTER, *row, row[1] < 5) for row in ROI],
    )
    con.executemany(
        "INSERT INTO marts.cohort_comparison VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", COMPARISON
    )
    con.execute(DERIVED)


def publish(
    settings: Settings, published: bool = True, failures: list | None = None
) -> BuildRecord:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    write_marts(con)
    con.close()
    now = datetime.now().isoformat()
    return record_build(
        settings,
        BuildRecord(
            build_id=new_build_id(),
            started_at=now,
            finished_at=now,
            dbt_success=True,
            gate_success=published,
            is_published=published,
            failures=failures or [],
        ),
    )


@pytest.fixture
def published_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    publish(settings)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.fixture(scope="session")
def demo_settings(kafka_broker: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A demo warehouse made by `skillstream demo` (simulator, Kafka, Beam, dbt, GX) once per
    session, on the session's broker with topics of its own."""
    import uuid

    from tests.conftest import make_settings, run_cli

    suffix = uuid.uuid4().hex[:8]
    settings = make_settings(
        tmp_path_factory.mktemp("demo"),
        bootstrap=kafka_broker.bootstrap,
        statements_topic=f"xapi.statements.{suffix}",
        dlq_topic=f"xapi.dlq.{suffix}",
    )
    run_cli(settings, "demo", "--no-dashboard", "--learners", "120", timeout=900)
    return settings
