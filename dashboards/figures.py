"""All dashboard and report SQL, parameterised, against a published snapshot: each figure's
one query, with the columns counting the learners it derives from (its k-anonymity basis).

No Streamlit here: the ROI report and the CLI use these as the pages do. The snapshot's
read-only connection is shared in the process (quality.publish.open_snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from skillstream import warehouse
from skillstream.dashboards.roi import RoiComponents
from skillstream.dashboards.suppression import Figure
from skillstream.quality.publish import open_snapshot, read_status
from skillstream.settings import Settings


@dataclass(frozen=True)
class Published:
    build_id: str
    built_at: str
    snapshot: Path
    newest_build_id: str | None
    newest_is_published: bool
    newest_failures: list[dict[str, Any]]


def published_build(settings: Settings) -> Published | None:
    """The build the dashboard shows (the last published one) and what became of the newest
    build; None before any build was published."""
    current, latest = read_status(settings)
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
    "engagement_by_hour": {"org": "org", "team": "team", "role": "role", "cohort": "cohort"},
    "capability_matrix": {"team": "team", "skill": "skill_id"},
    "program_funnel": {"program": "program_id", "cohort": "cohort"},
    "at_risk_weekly": {
        "org": "org",
        "team": "team",
        "role": "role",
        "cohort": "cohort",
        "program": "program_id",
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


def subject_names(build: Published) -> dict[str, str]:
    """Programme and skill IRI -> the name people know it by (marts.subject_names)."""
    if missing_tables(build, "subject_names"):
        return {}
    frame = query(build, "SELECT subject_id, name FROM marts.subject_names")
    return dict(zip(frame["subject_id"], frame["name"], strict=True))


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


_BOTH_SIDES = ("yes", "no", "baseline_yes", "baseline_no")
COMPARISON_FIGURES = (
    Figure("value", ("yes", "no")),
    Figure("baseline_value", ("baseline_yes", "baseline_no")),
    Figure("difference", _BOTH_SIDES),
    Figure("ci_low", _BOTH_SIDES),
    Figure("ci_high", _BOTH_SIDES),
    Figure("n", ("n",)),
    Figure("baseline_n", ("baseline_n",)),
)


def cohort_comparison(build: Published) -> pd.DataFrame:
    """The published all-time comparison (marts.cohort_comparison), with the learners each side
    of a proportion rests on (successes and failures, from the rate and n; a median rests on n)."""
    return query(
        build,
        """
        SELECT cohort, baseline_cohort, subject_id, metric, value, baseline_value, difference,
               ci_low, ci_high, n, baseline_n, least(n, baseline_n) AS learners,
               CASE WHEN metric LIKE '%rate' THEN round(value * n) ELSE n END AS yes,
               CASE WHEN metric LIKE '%rate' THEN n - round(value * n) ELSE n END AS no,
               CASE WHEN metric LIKE '%rate' THEN round(baseline_value * baseline_n)
                    ELSE baseline_n END AS baseline_yes,
               CASE WHEN metric LIKE '%rate' THEN baseline_n - round(baseline_value * baseline_n)
                    ELSE baseline_n END AS baseline_no
        FROM marts.cohort_comparison ORDER BY metric, subject_id, cohort
        """,
    )


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
        clause, parameters = where("capability_matrix", filters)
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
    Figure(column, ("active_learners",)) for column in warehouse.ENGAGEMENT_MEASURES
)


def _sums_by(
    build: Published, filters: Filters, table: str, keys: tuple[str, ...], measures: tuple[str, ...]
) -> pd.DataFrame:
    """Each measure of the mart summed per keys, after the filters: a count as BIGINT, minutes
    as DOUBLE."""
    clause, parameters = where(table, filters)
    group = ", ".join(keys)
    sums = ", ".join(
        f"sum({m})::{'DOUBLE' if m.endswith('_minutes') else 'BIGINT'} AS {m}" for m in measures
    )
    return query(
        build,
        f"SELECT {group}, {sums} FROM marts.{table} {clause} GROUP BY {group} ORDER BY {group}",
        parameters,
    )


def engagement_by_week(build: Published, filters: Filters) -> pd.DataFrame:
    return _sums_by(
        build, filters, "engagement_weekly", ("week_start", "cohort"), warehouse.ENGAGEMENT_MEASURES
    )


HOUR_FIGURES = tuple(
    Figure(column, ("active_learners",)) for column in ("active_learners", "sessions")
)


def engagement_by_weekday_hour(build: Published, filters: Filters) -> pd.DataFrame:
    """Per ISO weekday (1 = Monday) and UTC hour: the learners who started a session then and
    the sessions. A learner is in one group, so the groups' learners add up."""
    measures = tuple(f.column for f in HOUR_FIGURES)
    return _sums_by(build, filters, "engagement_by_hour", ("weekday", "hour"), measures)


# ---- ROI -------------------------------------------------------------------------------------


def quarters(build: Published) -> list[str]:
    frame = query(build, "SELECT DISTINCT quarter FROM marts.roi_quarterly ORDER BY 1")
    return list(frame["quarter"])


# The ROI page's headline figures of a cohort and quarter; ROI_FIGURES adds their parts.
ROI_HEADLINE = ("learners", "costs", "benefits", "net_benefit", "roi_pct", "bcr", "payback_months")
ROI_FIGURES = tuple(
    Figure(column, ("learners",))
    for column in (
        *ROI_HEADLINE,
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


# ---- assessment items (Content) ----------------------------------------------------------------

# An item's statistics derive from all its learners; a response's count from those who gave it.
ITEM_FIGURES = tuple(
    Figure(column, ("learners",))
    for column in (
        "learners",
        "attempts",
        "difficulty",
        "first_attempt_correct_rate",
        "discrimination",
        "mean_attempts_to_success",
    )
)
RESPONSE_FIGURES = (Figure("learners", ("learners",)),)


def items(build: Published) -> pd.DataFrame:
    """marts.item_analysis, flagged items first (then by assessment and item)."""
    return query(
        build,
        "SELECT item_id, assessment_id, flag, learners, attempts, difficulty, "
        "first_attempt_correct_rate, discrimination, mean_attempts_to_success "
        "FROM marts.item_analysis ORDER BY flag IS NULL, flag, assessment_id, item_id",
    )


def item_responses(build: Published, item_id: str) -> pd.DataFrame:
    """One item's responses at first attempts: response, description, learners, is_correct."""
    return query(
        build,
        "SELECT item_id, response, description, learners, is_correct "
        "FROM marts.item_responses WHERE item_id = ? ORDER BY response",
        [item_id],
    )


# ---- at-risk learners (`skillstream report at-risk` only: learner level, never on a page) ------


def at_risk_learners(build: Published) -> pd.DataFrame:
    """marts.at_risk_learners: learner_id, program_id, cohort, org, team, role, last_seen_at,
    days_inactive, the longest inactive first."""
    return query(
        build,
        "SELECT learner_id, program_id, cohort, org, team, role, last_seen_at, days_inactive "
        "FROM marts.at_risk_learners ORDER BY days_inactive DESC, learner_id, program_id",
    )


# ---- at-risk shares (At risk) -------------------------------------------------------------------

# The share splits the enrolled learners into at risk and not (as completed or not does): both
# sides need k. Enrolled, the whole group, rests on itself.
AT_RISK_FIGURES = (
    Figure("enrolled", ("enrolled",)),
    Figure("at_risk", ("at_risk", "not_at_risk")),
    Figure("at_risk_share", ("at_risk", "not_at_risk")),
)
AT_RISK_GROUPINGS = ("week_start", "program_id", "cohort", "team", "role")


def at_risk_shares(
    build: Published, filters: Filters, by: tuple[str, ...], latest_week: bool
) -> pd.DataFrame:
    """marts.at_risk_weekly per group (`by`, which holds program_id: a learner is counted once
    per program, so only within one program do enrolled and at_risk count distinct learners):
    enrolled, at risk, their share and the learners not at risk; all weeks, or the latest week
    the filters leave."""
    if "program_id" not in by or not set(by) <= set(AT_RISK_GROUPINGS):
        raise ValueError(f"at-risk groupings must hold program_id, of {AT_RISK_GROUPINGS}: {by}")
    clause, parameters = where("at_risk_weekly", filters)
    grouping = ", ".join(by)
    latest = "WHERE week_start = (SELECT max(week_start) FROM chosen)" if latest_week else ""
    return query(
        build,
        f"""
        WITH chosen AS (SELECT * FROM marts.at_risk_weekly {clause})
        SELECT {grouping},
               sum(enrolled)::BIGINT AS enrolled,
               sum(at_risk)::BIGINT AS at_risk,
               sum(at_risk) / sum(enrolled) AS at_risk_share,
               (sum(enrolled) - sum(at_risk))::BIGINT AS not_at_risk
        FROM chosen {latest}
        GROUP BY {grouping} ORDER BY {grouping}
        """,
        parameters,
    )


# ---- drop-off (Content) ------------------------------------------------------------------------

# A step's count splits the cohort's launched learners into who reached it and who did not (as
# completed or not does): both sides need k. Launched, the whole cohort, rests on itself.
FUNNEL_FIGURES = (Figure("learners_reached", ("learners_reached", "not_reached")),)


def program_funnel(build: Published, filters: Filters) -> pd.DataFrame:
    """marts.program_funnel per program and cohort (filters: program, cohort), step by step,
    with the cohort's launched learners and those who did not reach the step."""
    clause, parameters = where("program_funnel", filters)
    return query(
        build,
        f"""
        WITH steps AS (
            SELECT program_id, cohort, step_order, step_id, step_kind, learners_reached,
                   max(learners_reached) FILTER (WHERE step_kind = 'launched')
                       OVER (PARTITION BY program_id, cohort) AS launched
            FROM marts.program_funnel {clause}
        )
        SELECT *, CASE WHEN step_kind = 'launched' THEN launched
                       ELSE launched - learners_reached END AS not_reached
        FROM steps ORDER BY program_id, cohort, step_order
        """,
        parameters,
    )
