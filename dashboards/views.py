"""Each table a page or the ROI report shows, as it may be shown: the figures of figures.py after
the k-anonymity rule of suppression.py. Pages and the report read only these, so a figure shown
in two places is one query and one rule, and the privacy tests check everything shown here.
"""

from __future__ import annotations

from dataclasses import dataclass

from skillstream.dashboards import figures
from skillstream.dashboards.suppression import Privacy, Shown, suppress


@dataclass(frozen=True)
class Sides:
    """A table's program side (learner_programs) and skill side (learner_skills)."""

    programs: Shown
    skills: Shown


def _k(privacy: Privacy, filters: figures.Filters, grouped: tuple[str, ...]) -> int:
    return privacy.k_for((name for name, values in filters.chosen.items() if values), grouped)


def _sides(
    build: figures.Published, filters: figures.Filters, by: tuple[str, ...], privacy: Privacy
) -> Sides:
    k = _k(privacy, filters, by)
    # the last grouping's groups make a total: cohorts of one program, quarters of all time
    programs = figures.program_figures(build, filters, by)
    skills = figures.skill_figures(build, filters, by)
    return Sides(
        programs=suppress(
            programs,
            figures.PROGRAM_FIGURES,
            k,
            siblings=figures.group_columns(by, "program_id")[:-1],
        ),
        skills=suppress(
            skills, figures.SKILL_FIGURES, k, siblings=figures.group_columns(by, "skill_id")[:-1]
        ),
    )


def overview(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> Sides:
    """The Overview's KPIs per quarter."""
    return _sides(build, filters, ("quarter",), privacy)


def cohorts(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> Sides:
    """Per cohort: the Cohorts page's table and the report's KPI table (with a quarter)."""
    return _sides(build, filters, ("cohort",), privacy)


def cohorts_by_subject(
    build: figures.Published, filters: figures.Filters, privacy: Privacy
) -> Sides:
    """Per program (skill) and cohort: the independent units of the Cohorts page's intervals,
    each learner counted once per program or skill."""
    return _sides(build, filters, ("subject", "cohort"), privacy)


def drill(
    build: figures.Published, filters: figures.Filters, skill: str, by: str, privacy: Privacy
) -> Shown:
    """One skill by role, cohort or team."""
    narrowed = figures.Filters({**filters.chosen, "skill": (skill,)})
    frame = figures.skill_figures(build, narrowed, ("subject", by))
    k = _k(privacy, narrowed, (by,))
    return suppress(frame.drop(columns="skill_id"), figures.SKILL_FIGURES, k)


def capability(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> Shown:
    """Team × skill; the teams of one skill make a total."""
    frame = figures.capability_by_team(build, filters)
    k = _k(privacy, filters, ("team",))
    return suppress(frame, figures.CAPABILITY_FIGURES, k, siblings=("skill_id",))


def engagement(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> Shown:
    """Week × cohort; the cohorts of one week make a total."""
    frame = figures.engagement_by_week(build, filters)
    k = _k(privacy, filters, ("cohort",))
    return suppress(
        frame, figures.ENGAGEMENT_FIGURES, k, group="active_learners", siblings=("week_start",)
    )


def roi(build: figures.Published, quarter: str, privacy: Privacy) -> Shown:
    """The quarter's published ROI per cohort (no filters apply)."""
    return suppress(figures.roi_quarterly(build, quarter), figures.ROI_FIGURES, privacy.k)


def comparison(build: figures.Published, privacy: Privacy) -> Shown:
    """The published all-time comparison of each cohort with the baseline (no filters apply)."""
    frame = figures.cohort_comparison(build)
    shown = suppress(
        frame, figures.COMPARISON_FIGURES, privacy.k, siblings=("metric", "subject_id")
    )
    # learners (the smaller side) only served the row rule
    return Shown(shown.values.drop(columns="learners"), shown.hidden, shown.hidden_groups, shown.k)


def items(build: figures.Published, privacy: Privacy) -> Shown:
    """Each assessment item's statistics; an item of fewer than k learners is hidden."""
    return suppress(figures.items(build), figures.ITEM_FIGURES, privacy.k, siblings=("item_id",))


def item_responses(build: figures.Published, item_id: str, privacy: Privacy) -> Shown:
    """One item's response distribution; its responses add up to the item's learners, so a
    response given by fewer than k learners is hidden with a second one where needed."""
    frame = figures.item_responses(build, item_id)
    return suppress(frame, figures.RESPONSE_FIGURES, privacy.k, siblings=("item_id",))


def engagement_by_weekday_hour(
    build: figures.Published, filters: figures.Filters, privacy: Privacy
) -> Shown:
    """Weekday × hour; the cells make the filtered learners' sessions, a total shown elsewhere."""
    frame = figures.engagement_by_weekday_hour(build, filters)
    k = _k(privacy, filters, ())
    return suppress(frame, figures.HOUR_FIGURES, k, group="active_learners")


def program_funnel(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> Shown:
    """Each program's funnel per cohort: a cohort of fewer than k launched learners is hidden,
    and a step reached (or missed) by fewer than k reads "fewer than k"; the cohorts of one
    program's step make a total."""
    frame = figures.program_funnel(build, filters)
    k = _k(privacy, filters, ("cohort",))
    return suppress(
        frame, figures.FUNNEL_FIGURES, k, group="launched", siblings=("program_id", "step_order")
    )


def at_risk_latest(
    build: figures.Published, filters: figures.Filters, per_team: bool, privacy: Privacy
) -> Shown:
    """The latest week's at-risk share per program and cohort (and team): a group of fewer than
    k enrolled learners is hidden, and at risk or not at risk by fewer than k reads "fewer than
    k"; the cohorts of one program (the teams of one program's cohort) make a total."""
    by = ("week_start", "program_id", "cohort", *(("team",) if per_team else ()))
    frame = figures.at_risk_shares(build, filters, by, latest_week=True)
    k = _k(privacy, filters, by)
    return suppress(frame, figures.AT_RISK_FIGURES, k, group="enrolled", siblings=by[:-1])


def at_risk_trend(
    build: figures.Published, filters: figures.Filters, program: str, privacy: Privacy
) -> Shown:
    """One program's at-risk share per week and cohort; the cohorts of one week make a total.
    Its latest week is at_risk_latest's rows without teams, hidden alike."""
    narrowed = figures.Filters({**filters.chosen, "program": (program,)})
    by = ("week_start", "program_id", "cohort")
    frame = figures.at_risk_shares(build, narrowed, by, latest_week=False)
    k = _k(privacy, narrowed, by)
    return suppress(frame, figures.AT_RISK_FIGURES, k, group="enrolled", siblings=by[:-1])
