"""All dashboard SQL, parameterised, against the published marts through a read-only connection.

Pages lay out widgets; they never write SQL. The connection is cached per published
snapshot, so a new publish is picked up on the next rerun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream import warehouse
from skillstream.dashboards.roi import RoiComponents
from skillstream.dashboards.suppression import Figure, Privacy
from skillstream.quality.publish import open_snapshot, read_status


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


def query(build: Published, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
    # a cursor per query: reruns run in threads
    cursor = open_snapshot(str(build.snapshot)).cursor()
    try:
        return cursor.execute(sql, parameters or []).df()
    finally:
        cursor.close()


def privacy() -> Privacy:
    return Privacy.from_settings(settings_module.load())


# ---- filters ---------------------------------------------------------------------------------

# Filter name -> the column it applies to, per learner-grain mart. A filter a mart lacks (skill
# on learner_programs, program on learner_skills) does not apply there; pages say so.
FILTER_COLUMNS: dict[str, dict[str, str]] = {
    "learner_programs": {
        "org": "org",
        "team": "team",
        "role": "role",
        "cohort": "cohort",
        "program": "program_id",
        "quarter": "quarter",
    },
    "learner_skills": {
        "org": "org",
        "team": "team",
        "role": "role",
        "cohort": "cohort",
        "skill": "skill_id",
        "quarter": "quarter",
    },
    "engagement_weekly": {
        "org": "org",
        "team": "team",
        "role": "role",
        "cohort": "cohort",
        "quarter": "(year(week_start)::VARCHAR || 'Q' || quarter(week_start)::VARCHAR)",
    },
}
FILTER_NAMES = ("org", "team", "role", "cohort", "program", "skill", "quarter")


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; an empty tuple means all."""

    chosen: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def values(self, name: str) -> list[str]:
        return list(self.chosen.get(name, ()))

    def ignored_by(self, table: str) -> list[str]:
        return [n for n, v in self.chosen.items() if v and n not in FILTER_COLUMNS[table]]


def where(table: str, filters: Filters) -> tuple[str, list[Any]]:
    """A WHERE clause (fixed column names, bound values) applying the filters to a mart."""
    clauses, parameters = [], []
    for name, column in FILTER_COLUMNS[table].items():
        values = filters.values(name)
        if values:
            clauses.append(f"list_contains(?::VARCHAR[], {column})")
            parameters.append(values)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", parameters


def missing_tables(build: Published, *tables: str) -> list[str]:
    """Which of these marts the published build lacks."""
    cursor = open_snapshot(str(build.snapshot)).cursor()
    try:
        present = warehouse.table_names(cursor, "marts")
    finally:
        cursor.close()
    return [t for t in tables if t not in present]


def filter_options(build: Published) -> dict[str, list[str]]:
    """The values each filter offers, from the learner-grain marts (once per published build)."""
    return _filter_options(str(build.snapshot))


@st.cache_data(max_entries=2, show_spinner=False)
def _filter_options(snapshot: str) -> dict[str, list[str]]:
    con = open_snapshot(snapshot).cursor()
    try:
        present = warehouse.table_names(con, "marts")
        options: dict[str, set[str]] = {name: set() for name in FILTER_NAMES}
        for table in ("learner_programs", "learner_skills"):
            if table not in present:
                continue
            for name, column in FILTER_COLUMNS[table].items():
                rows = con.execute(f"SELECT DISTINCT {column} FROM marts.{table}").fetchall()
                options[name].update(str(v) for (v,) in rows if v is not None)
    finally:
        con.close()
    return {name: sorted(values) for name, values in options.items()}


# ---- figures of learners in programs and skills (Overview, Cohorts, Capability, the report) ----

# Each figure's k-anonymity basis: the columns counting the distinct learners it derives from.
PROGRAM_FIGURES = (
    Figure("learners", ("learners",)),
    Figure("enrolments", ("learners",)),
    Figure("completed", ("completed_learners", "not_completed_learners")),
    Figure("completion_rate", ("completed_learners", "not_completed_learners")),
    Figure("seat_time_hours", ("learners",)),
)
SKILL_FIGURES = (
    Figure("learners", ("learners",)),
    Figure("mastered", ("mastered_learners", "not_mastered_learners")),
    Figure("mastery_rate", ("mastered_learners", "not_mastered_learners")),
    Figure("median_days_to_competency", ("competent_learners",)),
    Figure("p75_days_to_competency", ("competent_learners",)),
    Figure("days_to_competency", ("competent_learners",)),
    Figure("retention_checked", ("checked_learners",)),
    Figure("retained", ("retained_learners", "not_retained_learners")),
    Figure("retention_30d_rate", ("retained_learners", "not_retained_learners")),
    Figure("mean_latest_score", ("learners",)),
)
GROUPINGS = {"quarter": "quarter", "cohort": "cohort", "team": "team", "role": "role"}


def group_columns(by: tuple[str, ...], subject: str) -> list[str]:
    """The columns of a grouping; "subject" is the program (or skill) itself."""
    return [subject if name == "subject" else GROUPINGS[name] for name in by]


def program_figures(build: Published, filters: Filters, by: tuple[str, ...]) -> pd.DataFrame:
    """Per group (`by`: quarter, cohort, team, role, subject = program): learners, enrolments,
    completions, completion rate (completed / enrolled, over learner × program), seat time."""
    clause, parameters = where("learner_programs", filters)
    grouping = ", ".join(group_columns(by, "program_id"))
    return query(
        build,
        f"""
        SELECT {grouping},
               count(DISTINCT learner_id)::BIGINT AS learners,
               count(*)::BIGINT AS enrolments,
               count(*) FILTER (WHERE completed)::BIGINT AS completed,
               avg(completed::INTEGER) AS completion_rate,
               sum(seat_time_hours) AS seat_time_hours,
               count(DISTINCT learner_id) FILTER (WHERE completed) AS completed_learners,
               count(DISTINCT learner_id) FILTER (WHERE NOT completed) AS not_completed_learners
        FROM marts.learner_programs {clause}
        GROUP BY {grouping} ORDER BY {grouping}
        """,
        parameters,
    )


def skill_figures(build: Published, filters: Filters, by: tuple[str, ...]) -> pd.DataFrame:
    """Per group (`by`: quarter, cohort, team, role, subject = skill): learners, mastery (over
    learner × skill), days to competency (over the learner × skill pairs that reached it), 30-day
    retention (over the checked pairs), mean latest score."""
    clause, parameters = where("learner_skills", filters)
    grouping = ", ".join(group_columns(by, "skill_id"))
    checked = "retention_30d_checked"
    return query(
        build,
        f"""
        SELECT {grouping},
               count(DISTINCT learner_id)::BIGINT AS learners,
               count(*) FILTER (WHERE mastered)::BIGINT AS mastered,
               avg(mastered::INTEGER) AS mastery_rate,
               median(days_to_competency) AS median_days_to_competency,
               quantile_cont(days_to_competency, 0.75) AS p75_days_to_competency,
               list(days_to_competency ORDER BY days_to_competency)
                   FILTER (WHERE days_to_competency IS NOT NULL) AS days_to_competency,
               count(*) FILTER (WHERE {checked})::BIGINT AS retention_checked,
               count(*) FILTER (WHERE {checked} AND retention_30d_retained)::BIGINT AS retained,
               avg(retention_30d_retained::INTEGER) FILTER (WHERE {checked})
                   AS retention_30d_rate,
               avg(latest_score) AS mean_latest_score,
               count(DISTINCT learner_id) FILTER (WHERE mastered) AS mastered_learners,
               count(DISTINCT learner_id) FILTER (WHERE NOT mastered) AS not_mastered_learners,
               count(DISTINCT learner_id) FILTER (WHERE days_to_competency IS NOT NULL)
                   AS competent_learners,
               count(DISTINCT learner_id) FILTER (WHERE {checked}) AS checked_learners,
               count(DISTINCT learner_id) FILTER (WHERE {checked} AND retention_30d_retained)
                   AS retained_learners,
               count(DISTINCT learner_id) FILTER (WHERE {checked} AND NOT retention_30d_retained)
                   AS not_retained_learners
        FROM marts.learner_skills {clause}
        GROUP BY {grouping} ORDER BY {grouping}
        """,
        parameters,
    )


def cohort_comparison(build: Published) -> pd.DataFrame:
    """The published all-time comparison (marts.cohort_comparison)."""
    return query(build, "SELECT * FROM marts.cohort_comparison ORDER BY metric, subject_id, cohort")


# ---- Capability ------------------------------------------------------------------------------


CAPABILITY_FIGURES = (
    Figure("learners", ("learners",)),
    Figure("mastered", ("mastered", "not_mastered")),
    Figure("mastery_rate", ("mastered", "not_mastered")),
)


def capability_by_team(build: Published, filters: Filters) -> pd.DataFrame:
    """Team × skill: the team's learners, those who mastered the skill, their share.

    A team's learners are its members seen in either learner-grain mart, the denominator of
    marts.capability_matrix, which this is without filters other than team and skill. Other
    filters narrow the learners to those matching them (with a quarter: who started a program
    or skill in it).
    """
    narrowing = {n: v for n, v in filters.chosen.items() if v and n not in ("team", "skill")}
    if not narrowing:
        clauses, parameters = [], []
        for name, column in (("team", "team"), ("skill", "skill_id")):
            if filters.values(name):
                clauses.append(f"list_contains(?::VARCHAR[], {column})")
                parameters.append(filters.values(name))
        clause = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return query(
            build,
            f"""
            SELECT team, skill_id, learners::BIGINT AS learners, mastered::BIGINT AS mastered,
                   (learners - mastered)::BIGINT AS not_mastered, mastery_rate
            FROM marts.capability_matrix {clause} ORDER BY team, skill_id
            """,
            parameters,
        )
    people = Filters({n: v for n, v in filters.chosen.items() if n not in ("program", "skill")})
    s_members, s_parameters = where("learner_skills", people)
    p_members, p_parameters = where("learner_programs", people)
    skills_clause, skills_parameters = where("learner_skills", filters)
    return query(
        build,
        f"""
        WITH members AS (
            SELECT learner_id, team FROM marts.learner_skills {s_members}
            UNION
            SELECT learner_id, team FROM marts.learner_programs {p_members}
        ), teams AS (
            SELECT team, count(*) AS learners FROM members GROUP BY team
        ), chosen AS (
            SELECT * FROM marts.learner_skills {skills_clause}
        ), skills AS (
            SELECT DISTINCT skill_id FROM chosen
        ), mastered AS (
            SELECT team, skill_id, count(*) AS mastered FROM chosen WHERE mastered GROUP BY ALL
        )
        SELECT teams.team, skills.skill_id, teams.learners::BIGINT AS learners,
               coalesce(mastered.mastered, 0)::BIGINT AS mastered,
               (teams.learners - coalesce(mastered.mastered, 0))::BIGINT AS not_mastered,
               coalesce(mastered.mastered, 0) / teams.learners AS mastery_rate
        FROM teams CROSS JOIN skills LEFT JOIN mastered USING (team, skill_id)
        ORDER BY teams.team, skills.skill_id
        """,
        [*s_parameters, *p_parameters, *skills_parameters],
    )


# ---- Engagement ------------------------------------------------------------------------------


ENGAGEMENT_FIGURES = tuple(
    Figure(column, ("active_learners",))
    for column in (
        "active_learners",
        "sessions",
        "active_minutes",
        "practice_attempts",
        "hints_requested",
        "feedback_given",
    )
)


def engagement_by_week(build: Published, filters: Filters) -> pd.DataFrame:
    clause, parameters = where("engagement_weekly", filters)
    return query(
        build,
        f"""
        SELECT week_start, cohort,
               sum(active_learners)::BIGINT AS active_learners,
               sum(sessions)::BIGINT AS sessions,
               sum(active_minutes)::DOUBLE AS active_minutes,
               sum(practice_attempts)::BIGINT AS practice_attempts,
               sum(hints_requested)::BIGINT AS hints_requested,
               sum(feedback_given)::BIGINT AS feedback_given
        FROM marts.engagement_weekly {clause}
        GROUP BY week_start, cohort ORDER BY week_start, cohort
        """,
        parameters,
    )


# ---- ROI -------------------------------------------------------------------------------------


def quarters(build: Published) -> list[str]:
    frame = query(build, "SELECT DISTINCT quarter FROM marts.roi_quarterly ORDER BY 1")
    return list(frame["quarter"])


ROI_FIGURES = tuple(
    Figure(column, ("learners",))
    for column in (
        "learners",
        "costs",
        "benefits",
        "net_benefit",
        "roi_pct",
        "bcr",
        "payback_months",
        "programme_cost",
        "seat_time_cost",
        "seat_time_saved_value",
        "competency_days_value",
        "kpi_value",
    )
)


def roi_quarterly(build: Published, quarter: str) -> pd.DataFrame:
    """Per cohort, the quarter's published ROI and its cost and benefit components."""
    columns = ", ".join(f.column for f in ROI_FIGURES)
    return query(
        build,
        f"SELECT cohort, {columns} FROM marts.roi_quarterly WHERE quarter = ? ORDER BY cohort",
        [quarter],
    )


def roi_assumptions(build: Published) -> pd.DataFrame:
    """Every assumption the ROI used: name, value (as text), numeric_value, unit, description."""
    return query(
        build,
        "SELECT name, value, numeric_value, unit, description FROM marts.roi_assumptions "
        "ORDER BY name",
    )


def roi_components(roi: pd.DataFrame) -> list[RoiComponents]:
    """The cost and benefit components of rows of roi_quarterly, for recomputing ROI."""
    return [
        RoiComponents(
            cohort=row.cohort,
            learners=int(row.learners),
            programme_cost=float(row.programme_cost),
            seat_time_cost=float(row.seat_time_cost),
            seat_time_saved_value=float(row.seat_time_saved_value),
            competency_days_value=float(row.competency_days_value),
            kpi_value=float(row.kpi_value),
        )
        for row in roi.itertuples()
    ]


def baseline_cohort() -> str:
    return settings_module.load().baseline_cohort


# ---- the warehouse itself: quality runs, quarantine, landing (Data quality, Pipeline health) --


@st.cache_data(ttl=30, show_spinner=False)
def warehouse_facts() -> dict[str, Any]:
    """Operational facts read from the warehouse, briefly and read-only, so writers are not held
    up. {"busy": message} when a writer holds the file."""
    settings = settings_module.load()
    if not settings.warehouse.exists():
        return {"busy": f"no warehouse at {settings.warehouse} yet"}
    try:
        con = warehouse.connect(settings, read_only=True, wait_seconds=3)
    except warehouse.WarehouseBusy as error:
        return {"busy": str(error)}
    try:
        return _read_warehouse_facts(con)
    finally:
        con.close()


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return table in warehouse.table_names(con, schema)


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _read_warehouse_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if _table_exists(con, "raw", "quarantine"):
        facts["quarantine_reasons"] = _frame(
            con,
            """
            SELECT reason, count(*)::BIGINT AS events, max(quarantined_at) AS latest
            FROM (SELECT unnest(reasons) AS reason, quarantined_at FROM raw.quarantine)
            GROUP BY reason ORDER BY events DESC, reason
            """,
        )
        facts["quarantine_by_topic"] = _frame(
            con,
            "SELECT topic, count(*)::BIGINT AS events FROM raw.quarantine GROUP BY 1 ORDER BY 1",
        )
    if _table_exists(con, "raw", "ingest_offsets"):
        facts["offsets"] = _frame(
            con,
            "SELECT topic, kafka_partition, next_offset, updated_at FROM raw.ingest_offsets "
            "ORDER BY topic, kafka_partition",
        )
    if _table_exists(con, "raw", "statements"):
        facts["landed_per_hour"] = _frame(
            con,
            """
            SELECT date_trunc('hour', landed_at) AS hour, count(*)::BIGINT AS statements
            FROM raw.statements GROUP BY 1 ORDER BY 1
            """,
        )
        facts["freshness"] = _frame(
            con,
            """
            SELECT count(*)::BIGINT AS statements, max(landed_at) AS last_landed_at,
                   max(occurred_at) AS last_occurred_at, max(stored_at) AS last_stored_at
            FROM raw.statements
            """,
        )
    if _table_exists(con, "quality", "runs"):
        facts["runs"] = _frame(
            con,
            """
            SELECT build_id, finished_at, dbt_success, gate_success, is_published,
                   failures::VARCHAR AS failures, statements, quarantined
            FROM quality.runs ORDER BY finished_at DESC LIMIT 20
            """,
        )
    return facts


@st.cache_data(ttl=10, show_spinner=False)
def kafka_end_offsets() -> dict[str, Any]:
    """{"partitions": {partition: end offset}} of the statements topic, or {"error": why}."""
    from skillstream import broker, kafka

    settings = settings_module.load()
    host, port = settings.bootstrap_host_port
    if not broker.port_open(host, port):
        return {"error": f"no Kafka broker answers at {settings.bootstrap}"}
    try:
        ends = kafka.offsets(settings, settings.statements_topic)
    except kafka.KafkaUnavailable as error:
        return {"error": str(error)}
    return {"topic": settings.statements_topic, "partitions": {p: e for p, (_, e) in ends.items()}}


def consumer_lag(offsets: pd.DataFrame, ends: dict[int, int], topic: str) -> pd.DataFrame:
    """Per partition: Kafka's end offset, the landed next offset, and the lag between them."""
    landed = offsets[offsets["topic"] == topic].set_index("kafka_partition")["next_offset"]
    partitions = sorted(set(ends) | set(int(p) for p in landed.index))
    rows = []
    for partition in partitions:
        end = ends.get(partition)
        next_offset = int(landed.get(partition, 0))
        rows.append(
            {
                "partition": partition,
                "end_offset": end,
                "landed_next_offset": next_offset,
                "lag": None if end is None else max(0, end - next_offset),
            }
        )
    return pd.DataFrame(rows)
