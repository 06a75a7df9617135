"""Property test of k-anonymity: over a simulated organisation with many small groups, random
filter combinations on every page's tables and the ROI report never show a figure derived from
fewer than k distinct learners, and never let a hidden group follow from a total.

The learners behind each shown figure are worked out here from the learner-level rows, not by
the SQL under test (a seeded random loop: hypothesis is not a dependency of the project).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pandas as pd
import pytest

from skillstream.dashboards import data, figures, report, views
from skillstream.dashboards.suppression import Privacy, Shown
from skillstream.settings import Settings
from tests.dashboards.conftest import (
    SIM_COHORTS,
    SIM_PROGRAMS,
    SIM_QUARTERS,
    SIM_ROLES,
    SIM_SKILLS,
    publish_simulated,
    random_filters,
    simulated_organisation,
)

PROGRAM_COLUMNS = ["learner_id", "program_id", "cohort", "org", "team", "role", "is_pilot"]
PROGRAM_COLUMNS += ["quarter", "first_seen_at", "completed", "completed_at", "seat_time_hours"]
SKILL_COLUMNS = ["learner_id", "skill_id", "cohort", "org", "team", "role", "is_pilot", "quarter"]
SKILL_COLUMNS += ["first_seen_at", "mastered", "mastered_at", "days_to_competency"]
SKILL_COLUMNS += ["latest_score", "retention_30d_checked", "retention_30d_retained"]
CHOICES = {
    "org": ["acme", "globex"],
    "team": [f"team-{t:02d}" for t in range(14)],
    "role": SIM_ROLES,
    "cohort": SIM_COHORTS,
    "program": SIM_PROGRAMS,
    "skill": SIM_SKILLS,
    "quarter": SIM_QUARTERS,
}
COLUMN = {"program": "program_id", "skill": "skill_id"}
ITERATIONS = 25


@pytest.fixture
def organisation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[figures.Published, dict[str, pd.DataFrame]]:
    rows = simulated_organisation()
    publish_simulated(settings, rows)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    build = data.published_build()
    assert build is not None
    frames = {
        "programs": pd.DataFrame(rows["learner_programs"], columns=PROGRAM_COLUMNS),
        "skills": pd.DataFrame(rows["learner_skills"], columns=SKILL_COLUMNS),
    }
    return build, frames


def narrowed(
    frame: pd.DataFrame, filters: figures.Filters, skip: tuple[str, ...] = ()
) -> pd.DataFrame:
    for name, values in filters.chosen.items():
        column = COLUMN.get(name, name)
        if column in frame.columns and name not in skip:
            frame = frame[frame[column].isin(values)]
    return frame


def learners(frame: pd.DataFrame) -> int:
    return frame["learner_id"].nunique()


# figure -> the learners (rows of the group) each part of it rests on
PROGRAM_BASES = {
    "completed": lambda g: [g[g["completed"]], g[~g["completed"]]],
    "completion_rate": lambda g: [g[g["completed"]], g[~g["completed"]]],
}
RETAINED = "retention_30d_retained"
CHECKED = "retention_30d_checked"
SKILL_BASES = {
    "mastered": lambda g: [g[g["mastered"]], g[~g["mastered"]]],
    "mastery_rate": lambda g: [g[g["mastered"]], g[~g["mastered"]]],
    "median_days_to_competency": lambda g: [g[g["days_to_competency"].notna()]],
    "p75_days_to_competency": lambda g: [g[g["days_to_competency"].notna()]],
    "days_to_competency": lambda g: [g[g["days_to_competency"].notna()]],
    "retention_checked": lambda g: [g[g[CHECKED]]],
    "retained": lambda g: [g[g[CHECKED] & (g[RETAINED] == True)], g[g[CHECKED] & (g[RETAINED] == False)]],  # noqa: E501, E712
    "retention_30d_rate": lambda g: [g[g[CHECKED] & (g[RETAINED] == True)], g[g[CHECKED] & (g[RETAINED] == False)]],  # noqa: E501, E712
}  # fmt: skip


def shown_cells(row: pd.Series, columns: list[str]) -> Iterator[str]:
    for column in columns:
        value = row[column]
        hidden = isinstance(value, str) and value.startswith("fewer than")
        if not hidden and value is not None and not (isinstance(value, float) and pd.isna(value)):
            yield column


def check_groups(
    table: pd.DataFrame,
    rows: pd.DataFrame,
    keys: list[str],
    k: int,
    bases: dict,
    siblings: list[str],
) -> None:
    """Every shown row rests on >= k learners, every shown figure on >= k learners in each of
    its parts, and the hidden groups of a total with parts shown hold >= k learners together."""
    groups = {key: group for key, group in rows.groupby(keys)}
    visible = set()
    for _, row in table.iterrows():
        key = tuple(row[c] for c in keys)
        visible.add(key)
        group = groups[key]
        assert learners(group) >= k, (key, learners(group))
        for column in shown_cells(row, [c for c in bases if c in table.columns]):
            for part in bases[column](group):
                assert learners(part) >= k, (key, column, learners(part))
    hidden: dict[tuple, int] = {}
    totals_shown = set()
    for key, group in groups.items():
        total = tuple(key[keys.index(s)] for s in siblings)
        if key in visible:
            totals_shown.add(total)
        else:
            hidden[total] = hidden.get(total, 0) + learners(group)
    # a total none of whose parts is shown gives nothing away by subtraction
    assert all(n >= k for t, n in hidden.items() if t in totals_shown), hidden


def check_sides(sides: views.Sides, frames: dict, filters: figures.Filters, keys: dict) -> None:
    programs = narrowed(frames["programs"], filters)
    skills = narrowed(frames["skills"], filters)
    for shown, rows, group_keys, bases in (
        (sides.programs, programs, keys["programs"], PROGRAM_BASES),
        (sides.skills, skills, keys["skills"], SKILL_BASES),
    ):
        check_groups(shown.table(), rows, group_keys, shown.k, bases, group_keys[:-1])


def check_capability(shown: Shown, frames: dict, filters: figures.Filters) -> None:
    people = ("program", "skill")
    members = pd.concat(
        [
            narrowed(frames["programs"], filters, skip=people)[["learner_id", "team"]],
            narrowed(frames["skills"], filters, skip=people)[["learner_id", "team"]],
        ]
    ).drop_duplicates()
    chosen = narrowed(frames["skills"], filters)
    for _, row in shown.table().iterrows():
        team = members[members["team"] == row["team"]]
        assert learners(team) >= shown.k
        if "mastery_rate" in shown_cells(row, ["mastery_rate"]):
            cell = chosen[(chosen["team"] == row["team"]) & (chosen["skill_id"] == row["skill_id"])]
            assert learners(cell[cell["mastered"]]) >= shown.k
            assert learners(team) - learners(cell[cell["mastered"]]) >= shown.k


def test_nothing_shown_derives_from_fewer_than_k_learners(
    organisation: tuple[figures.Published, dict[str, pd.DataFrame]],
) -> None:
    build, frames = organisation
    rng = random.Random(20261207)
    shown_figures = 0
    for _ in range(ITERATIONS):
        filters = random_filters(rng, CHOICES, 0.3, 2)
        privacy = Privacy(k=5, k_subteam=rng.choice([0, 8]))
        by_quarter = {"programs": ["quarter"], "skills": ["quarter"]}
        by_cohort = {"programs": ["cohort"], "skills": ["cohort"]}
        by_subject = {"programs": ["program_id", "cohort"], "skills": ["skill_id", "cohort"]}
        check_sides(views.overview(build, filters, privacy), frames, filters, by_quarter)
        check_sides(views.cohorts(build, filters, privacy), frames, filters, by_cohort)
        check_sides(views.cohorts_by_subject(build, filters, privacy), frames, filters, by_subject)
        check_capability(views.capability(build, filters, privacy), frames, filters)
        skill, by = rng.choice(SIM_SKILLS), rng.choice(["role", "cohort", "team"])
        drill = views.drill(build, filters, skill, by, privacy)
        skills = narrowed(frames["skills"], figures.Filters({**filters.chosen, "skill": (skill,)}))
        check_groups(drill.table(), skills, [by], drill.k, SKILL_BASES, [])
        engagement = views.engagement(build, filters, privacy)
        assert (engagement.values["active_learners"] >= engagement.k).all()
        shown_figures += int(
            views.cohorts(build, filters, privacy).skills.values.notna().sum().sum()
        )
    assert shown_figures > 0  # the loop showed something, so the checks above checked something


def test_the_report_shows_nothing_of_fewer_than_k_learners(
    organisation: tuple[figures.Published, dict[str, pd.DataFrame]], settings: Settings
) -> None:
    _, frames = organisation
    for quarter in SIM_QUARTERS:
        loaded = report.load_published(settings, quarter)
        quarter_only = figures.Filters({"quarter": (quarter,)})
        programs = narrowed(frames["programs"], quarter_only)
        skills = narrowed(frames["skills"], quarter_only)
        check_groups(loaded.outcomes, programs, ["cohort"], 5, PROGRAM_BASES, [])
        check_groups(loaded.competency, skills, ["cohort"], 5, SKILL_BASES, [])
        assert (pd.to_numeric(loaded.roi["learners"]) >= 5).all()
        for fmt in report.FORMATS[1:]:  # the exports carry the same tables
            assert report.render(loaded, fmt)
