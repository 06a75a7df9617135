"""A published build with known marts, made through the real publish step.

The marts are small and hand-made at the grain and with the columns agreed between the
engineers (docs/design.md §4 plus the learner-grain marts), so each page's numbers are known.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from skillstream import warehouse
from skillstream.dashboards import figures
from skillstream.quality.publish import BuildRecord
from skillstream.settings import Settings
from tests.conftest import record_a_build
from tests.skillstream.pilot_org import LEARNER_PROGRAMS_DDL, LEARNER_SKILLS_DDL

# every page of the app, by its file under dashboards/screens/ (AppTest's switch_page name)
SCREENS = Path(__file__).parents[2] / "dashboards" / "screens"
EVERY_PAGE = tuple(sorted(page.stem for page in SCREENS.glob("*.py") if page.stem != "__init__"))

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
    # 19 of 20 pilot learners retained (1 did not), 3 of 6 control learners: under k
    ("pilot", "control", SKILL, "retention_30d_rate", 0.95, 0.5, 0.45, 0.2, 0.6, 20, 6),
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
                    cohort == "pilot",
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


MARTS_DDL = f"""
CREATE OR REPLACE TABLE marts.cohort_outcomes (
    cohort VARCHAR, program_id VARCHAR, quarter VARCHAR, enrolled BIGINT, completed BIGINT,
    completion_rate DOUBLE, seat_time_hours DOUBLE, is_small_group BOOLEAN);
{LEARNER_PROGRAMS_DDL}
{LEARNER_SKILLS_DDL}
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
WITH members AS (
    SELECT learner_id, team FROM marts.learner_programs
    UNION SELECT learner_id, team FROM marts.learner_skills
), teams AS (SELECT team, count(*) AS learners FROM members GROUP BY team),
skills AS (SELECT DISTINCT skill_id FROM marts.learner_skills),
mastered AS (
    SELECT team, skill_id, count(*) AS mastered FROM marts.learner_skills WHERE mastered
    GROUP BY ALL
)
SELECT team, skill_id, learners::BIGINT AS learners,
       coalesce(mastered, 0)::BIGINT AS mastered, coalesce(mastered, 0) / learners AS mastery_rate
FROM teams CROSS JOIN skills LEFT JOIN mastered USING (team, skill_id);
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
        "INSERT INTO marts.learner_skills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    return record_a_build(settings, published, failures=failures or [])


@pytest.fixture
def published_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return publish_with(settings, monkeypatch)


def publish_with(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    ddl: str = "",
    rows: dict[str, list[tuple]] | None = None,
) -> Settings:
    """The planted marts published with more: tables `ddl` creates, filled with `rows` (by
    table); the settings in the environment the app under test reads."""
    con = warehouse.connect(settings)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    if ddl:
        con.execute(ddl)
    for table, values in (rows or {}).items():
        con.executemany(
            f"INSERT INTO marts.{table} VALUES ({', '.join('?' * len(values[0]))})", values
        )
    con.close()
    publish(settings)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.fixture(scope="session")
def demo_settings(kafka_broker: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A demo warehouse made by `skillstream demo` (simulator, Kafka, Beam, dbt, GX) once per
    session, on the session's broker with topics of its own. The demo runs as for a user who
    sets no ROI assumption, so the simulated organisation's settings.toml applies; the settings
    returned are read from it too."""
    import os
    import subprocess
    import sys
    import uuid

    from tests.conftest import make_settings

    root = tmp_path_factory.mktemp("demo")
    topics = {
        "bootstrap": kafka_broker.bootstrap,
        "statements_topic": f"xapi.statements.{uuid.uuid4().hex[:8]}",
        "dlq_topic": f"xapi.dlq.{uuid.uuid4().hex[:8]}",
    }
    settings = make_settings(root, **topics)
    env = {k: v for k, v in settings.as_env().items() if not k.startswith("SKILLSTREAM_ROI_")}
    completed = subprocess.run(
        [sys.executable, "-m", "skillstream.cli", "demo", "--no-dashboard", "--learners", "120"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return make_settings(root, config=str(settings.home / "demo" / "settings.toml"), **topics)


# ---- a simulated organisation with many small groups (the privacy property tests) -------------

SIM_PROGRAMS = [f"https://lms.example/courses/s{i}" for i in range(4)]
SIM_SKILLS = [f"https://skills.example/s{i}" for i in range(4)]
SIM_QUARTERS = ["2026Q2", "2026Q3", "2026Q4"]
SIM_COHORTS = ["pilot", "control", "pilot-b", "unassigned"]
SIM_ROLES = ["analyst", "engineer", "manager", "designer"]


def _first_seen(rng: Any) -> tuple[datetime, str]:
    seen = datetime(2026, rng.choice([4, 7, 10]), 1) + timedelta(days=rng.randint(0, 80))
    return seen, f"{seen.year}Q{(seen.month - 1) // 3 + 1}"


def simulated_organisation(seed: int = 7) -> dict[str, list[tuple]]:
    """Two orgs of 14 teams of 1 to 14 learners, with random roles, cohorts, programs, skills
    and quarters: most groups any filter makes are small. Rows in each mart's column order."""
    rng = random.Random(seed)
    programs, skills, weekly = [], [], {}
    for t in range(14):
        org, team = ("acme" if t % 2 else "globex"), f"team-{t:02d}"
        for i in range(rng.randint(1, 14)):
            learner, role, cohort = f"{team}-{i}", rng.choice(SIM_ROLES), rng.choice(SIM_COHORTS)
            for program in rng.sample(SIM_PROGRAMS, rng.randint(1, 3)):
                seen, quarter = _first_seen(rng)
                done = rng.random() < 0.6
                programs.append(
                    (learner, program, cohort, org, team, role, cohort == "pilot", quarter, seen,
                     done, seen + timedelta(days=9) if done else None, rng.uniform(0.5, 9))
                )  # fmt: skip
            for skill in rng.sample(SIM_SKILLS, rng.randint(1, 3)):
                seen, quarter = _first_seen(rng)
                mastered = rng.random() < 0.5
                days = rng.uniform(1, 40) if mastered else None
                checked = mastered and rng.random() < 0.6
                skills.append(
                    (learner, skill, cohort, org, team, role, cohort == "pilot", quarter, seen,
                     mastered,
                     seen + timedelta(days=days) if days else None, days, rng.random(), checked,
                     (rng.random() < 0.5) if checked else None)
                )  # fmt: skip
            for week in range(6):
                if rng.random() < 0.6:
                    key = (date(2026, 7, 6) + timedelta(weeks=week), cohort, org, team, role)
                    weekly.setdefault(key, []).append(learner)
    engagement = [
        (*key, len(active), 2 * len(active), 30.0 * len(active), len(active), 1, 1)
        for key, active in sorted(weekly.items())
    ]
    first_quarter: dict[str, tuple[str, str]] = {}
    for row in sorted(programs, key=lambda r: r[8]):
        first_quarter.setdefault(row[0], (row[7], row[2]))
    roi_groups: dict[tuple[str, str], int] = {}
    for quarter, cohort in first_quarter.values():
        roi_groups[(quarter, cohort)] = roi_groups.get((quarter, cohort), 0) + 1
    roi = [
        (quarter, cohort, n, 1000.0 * n, 1500.0 * n, 500.0 * n, 50.0, 1.5, 8.0,
         900.0 * n, 100.0 * n, 300.0 * n, 1100.0 * n, 100.0 * n, n < 5)
        for (quarter, cohort), n in sorted(roi_groups.items())
    ]  # fmt: skip
    return {
        "learner_programs": programs,
        "learner_skills": skills,
        "engagement_weekly": engagement,
        "roi_quarterly": roi,
        "activity": [(*key, learner) for key, active in weekly.items() for learner in active],
    }


def publish_simulated(settings: Settings, organisation: dict[str, list[tuple]]) -> None:
    """The simulated organisation's marts, published through the real publish step."""
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(MARTS_DDL)
    for table in ("learner_programs", "learner_skills", "engagement_weekly", "roi_quarterly"):
        rows = organisation[table]
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO marts.{table} VALUES ({marks})", rows)
    con.executemany("INSERT INTO marts.roi_assumptions VALUES (?, ?, ?, ?, ?)", ASSUMPTIONS)
    con.execute(DERIVED)
    con.close()
    record_a_build(settings)


def random_filters(
    rng: random.Random, choices: dict[str, Sequence[str]], chance: float, most: int
) -> figures.Filters:
    """Filters as a reader might pick them: each filter, with probability `chance`, set to 1 to
    `most` of its values."""
    return figures.Filters(
        {
            name: tuple(rng.sample(values, rng.randint(1, most)))
            for name, values in choices.items()
            if rng.random() < chance
        }
    )
