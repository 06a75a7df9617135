"""A published build with known marts, made through the real publish step."""

from __future__ import annotations

from datetime import datetime

import pytest

from skillstream import warehouse
from skillstream.quality.publish import BuildRecord, new_build_id, record_build
from skillstream.settings import Settings

OUTCOMES = [
    # cohort, program, quarter, enrolled, completed, seat hours
    ("pilot", "https://lms.example/courses/p1", "2026Q3", 40, 30, 120.0),
    ("control", "https://lms.example/courses/p1", "2026Q3", 36, 9, 80.0),
    ("pilot", "https://lms.example/courses/p2", "2026Q3", 3, 1, 4.0),  # under k = 5
]


def publish(
    settings: Settings, published: bool = True, failures: list | None = None
) -> BuildRecord:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        """
        CREATE OR REPLACE TABLE marts.cohort_outcomes (
            cohort VARCHAR, program_id VARCHAR, quarter VARCHAR, enrolled BIGINT, completed BIGINT,
            completion_rate DOUBLE, seat_time_hours DOUBLE, is_small_group BOOLEAN
        )
        """
    )
    for cohort, program, quarter, enrolled, completed, hours in OUTCOMES:
        con.execute(
            "INSERT INTO marts.cohort_outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                cohort,
                program,
                quarter,
                enrolled,
                completed,
                completed / enrolled,
                hours,
                enrolled < 5,
            ],
        )
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
