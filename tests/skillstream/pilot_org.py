"""A planted organisation with known pilot answers, published through the real publish step.

Program P and skill S; windows of 30 days from START. Within a learner's window:
- cohort "pilot" (120 learners from START): 96 complete and master (80 %) in 10-14 days;
- cohort "control" (300 learners before START): 120 complete and master (40 %) in 20-28 days,
  30 more only after 60 days (outside the window);
- cohort "tiny-pilot" (12 learners from START): 7 complete (58 %);
- cohort "trio" (3 learners from START): all complete, fewer than k = 5.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from skillstream import warehouse
from skillstream.settings import Settings
from tests.conftest import record_a_build

P = "https://lms.example/courses/p1"
S = "https://skills.example/sql"
START = datetime(2026, 7, 1)


def pilots_config(names: dict[str, str]) -> str:
    """Settings-file text configuring a pilot of each cohort {cohort: pilot name}: completion
    of P, +0.2, from START."""
    return "".join(
        f'[[pilots]]\nname = "{name}"\ncohort = "{cohort}"\nprogram = "{P}"\n'
        f'metric = "completion"\nlift = 0.2\nstart = {START.date()}\n\n'
        for cohort, name in names.items()
    )


# Two pilots: "pilot" (a verdict) and "trio" (under k).
PILOTS = pilots_config({"pilot": "pilot", "trio": "trio"})

# The learner-grain marts as the pages read them, for every planted organisation
LEARNER_SKILLS_DDL = """
CREATE OR REPLACE TABLE marts.learner_skills (
    learner_id VARCHAR, skill_id VARCHAR, cohort VARCHAR, org VARCHAR, team VARCHAR,
    role VARCHAR, is_pilot BOOLEAN, quarter VARCHAR, first_seen_at TIMESTAMP, mastered BOOLEAN,
    mastered_at TIMESTAMP, days_to_competency DOUBLE, latest_score DOUBLE,
    retention_30d_checked BOOLEAN, retention_30d_retained BOOLEAN);
"""
LEARNER_PROGRAMS_DDL = """
CREATE OR REPLACE TABLE marts.learner_programs (
    learner_id VARCHAR, program_id VARCHAR, cohort VARCHAR, org VARCHAR, team VARCHAR,
    role VARCHAR, is_pilot BOOLEAN, quarter VARCHAR, first_seen_at TIMESTAMP, completed BOOLEAN,
    completed_at TIMESTAMP, seat_time_hours DOUBLE);
"""

MARTS = f"""
CREATE SCHEMA IF NOT EXISTS marts;
{LEARNER_PROGRAMS_DDL}
{LEARNER_SKILLS_DDL}
CREATE OR REPLACE TABLE marts.kpi_effects (
    kpi VARCHAR, quarter VARCHAR, cohort VARCHAR, baseline_cohort VARCHAR, learners BIGINT,
    baseline_learners BIGINT, change DOUBLE, baseline_change DOUBLE, did DOUBLE, ci_low DOUBLE,
    ci_high DOUBLE);
INSERT INTO marts.kpi_effects VALUES
    ('tickets', '2026Q3', 'pilot', 'control', 120, 300, 5.0, 2.0, 3.0, 2.5, 3.5),
    ('tickets', '2026Q3', 'trio', 'control', 3, 300, 9.0, 2.0, 7.0, 1.0, 13.0);
"""

# cohort, learners, first seen (day offsets from START), reached in window, days, late reachers
COHORTS = [
    ("pilot", 120, lambda i: i % 5, 96, lambda i: 10 + i % 5, 0),
    ("control", 300, lambda i: -170 + i % 150, 120, lambda i: 20 + i % 9, 30),
    ("tiny-pilot", 12, lambda i: i % 3, 7, lambda i: 12.0, 0),
    ("trio", 3, lambda i: 0, 3, lambda i: 12.0, 0),
]


def rows() -> tuple[list[tuple], list[tuple]]:
    programs, skills = [], []
    for cohort, learners, seen_day, reached, days_of, late in COHORTS:
        for i in range(learners):
            seen = START + timedelta(days=seen_day(i))
            days = float(days_of(i)) if i < reached else 60.0 if i < reached + late else None
            done = seen + timedelta(days=days) if days is not None else None
            quarter = f"{seen.year}Q{(seen.month - 1) // 3 + 1}"
            common = (f"{cohort}-{i:03d}",)
            tail = (cohort, "acme", cohort, "analyst", cohort != "control", quarter, seen)
            programs.append((*common, P, *tail, done is not None, done, 2.0))
            checked = done is not None and i % 2 == 0
            skills.append(
                (
                    *common,
                    S,
                    *tail,
                    done is not None,
                    done,
                    days,
                    0.9 if done else 0.4,
                    checked,
                    (i % 4 == 0) if checked else None,
                )
            )
    return programs, skills


def publish_org(settings: Settings) -> None:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.execute(MARTS)
    for table, values in zip(("learner_programs", "learner_skills"), rows(), strict=True):
        columns = [d[0] for d in con.execute(f"SELECT * FROM marts.{table} LIMIT 0").description]
        con.register("planted", pd.DataFrame(values, columns=columns))
        con.execute(f"INSERT INTO marts.{table} SELECT * FROM planted")
        con.unregister("planted")
    con.close()
    record_a_build(settings)
