"""All dashboard SQL, parameterised, against the published marts through a read-only connection.

Pages lay out widgets; they never write SQL. The connection is cached per published
snapshot, so a new publish is picked up on the next rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.quality.publish import read_status


@dataclass(frozen=True)
class Published:
    build_id: str
    built_at: str
    snapshot: Path
    newest_build_id: str | None
    newest_is_published: bool
    newest_failures: list[dict[str, Any]]


def published_build() -> Published | None:
    """The build the dashboard shows, and what became of the newest one."""
    current, latest = read_status(settings_module.load())
    if current is None or not current.get("snapshot"):
        return None
    return Published(
        build_id=current["build_id"],
        built_at=current["finished_at"],
        snapshot=Path(current["snapshot"]),
        newest_build_id=latest.get("build_id") if latest else None,
        newest_is_published=bool(latest and latest.get("is_published")),
        newest_failures=(latest or {}).get("failures", []),
    )


@st.cache_resource(max_entries=2)
def _connection(snapshot: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(snapshot, read_only=True)


def query(build: Published, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
    cursor = _connection(str(build.snapshot)).cursor()  # a cursor per query: reruns run in threads
    try:
        return cursor.execute(sql, parameters or []).df()
    finally:
        cursor.close()


def k_anonymity() -> int:
    return settings_module.load().k_anonymity


def programs(build: Published) -> list[str]:
    frame = query(build, "SELECT DISTINCT program_id FROM marts.cohort_outcomes ORDER BY 1")
    return list(frame["program_id"])


def completion_by_cohort(build: Published, program_ids: list[str], k: int) -> pd.DataFrame:
    """Completion per cohort and program over all quarters; groups under k flagged."""
    return query(
        build,
        """
        SELECT
            cohort,
            program_id,
            sum(enrolled)::BIGINT AS enrolled,
            sum(completed)::BIGINT AS completed,
            sum(completed) / sum(enrolled) AS completion_rate,
            sum(enrolled) < ? AS is_small_group
        FROM marts.cohort_outcomes
        WHERE len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], program_id)
        GROUP BY cohort, program_id
        ORDER BY program_id, cohort
        """,
        [k, program_ids, program_ids],
    )
