"""figures.py and data.py on the hand-made published build: filters, members, the k rule."""

from __future__ import annotations

import pandas as pd
import pytest

from skillstream.dashboards import data, figures, views
from skillstream.dashboards.suppression import Privacy
from skillstream.settings import Settings
from tests.dashboards.conftest import P2, SKILL


@pytest.fixture
def build(published_settings: Settings) -> figures.Published:
    published = data.published_build()
    assert published is not None
    return published


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return list(frame[list(columns)].itertuples(index=False, name=None))


def test_capability_unfiltered_is_the_published_matrix(build: figures.Published) -> None:
    # a team's learners: its members seen in either learner-grain mart (team-c's roster
    # members without a statement are not counted)
    frame = figures.capability_by_team(build, figures.Filters())
    assert rows(frame, "team", "skill_id", "learners", "mastered") == [
        ("team-a", SKILL, 40, 28),
        ("team-b", SKILL, 36, 12),
    ]


def test_capability_by_role_counts_the_teams_members_of_that_role(build: figures.Published) -> None:
    frame = figures.capability_by_team(build, figures.Filters({"role": ("analyst",)}))
    # team-a analysts: pilot learners 0, 2, …, 38 (20); mastered: the even ones under 28 (14)
    assert rows(frame, "team", "learners", "mastered") == [("team-a", 20, 14), ("team-b", 18, 6)]
    assert frame["mastery_rate"].tolist() == pytest.approx([0.7, 6 / 18])


def test_filters_apply_where_the_mart_has_the_column(build: figures.Published) -> None:
    filters = figures.Filters({"program": (P2,), "skill": (SKILL,)})
    assert filters.ignored_by("learner_programs") == ["skill"]
    assert filters.ignored_by("learner_skills") == ["program"]
    counts = figures.program_figures(build, filters, ("cohort",))
    assert rows(counts, "cohort", "learners", "completed") == [("pilot", 3, 1)]


def test_filter_options_come_from_both_learner_marts(build: figures.Published) -> None:
    options = data.filter_options(build)
    assert options["team"] == ["team-a", "team-b"]
    assert options["skill"] == [SKILL]
    assert options["quarter"] == ["2026Q3"]
    assert len(options["program"]) == 2


def test_a_works_council_k_for_sub_team_views(
    build: figures.Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    """k_anonymity_subteam: a team or role filter, or a table by team or role, needs more."""
    by_role = figures.Filters({"role": ("analyst",)})  # analysts: pilot 20, control 18
    assert list(views.cohorts(build, by_role, data.privacy()).programs.values["cohort"]) == [
        "control",
        "pilot",
    ]
    monkeypatch.setenv("SKILLSTREAM_K_ANONYMITY_SUBTEAM", "19")
    privacy = data.privacy()
    assert privacy == Privacy(k=5, k_subteam=19)
    # control's 18 analysts are too few; pilot's 20 would give them away from the total
    shown = views.cohorts(build, by_role, privacy).programs
    assert shown.values.empty and shown.hidden_groups == 2
    # by cohort without a team or role filter: the org-level k
    assert len(views.cohorts(build, figures.Filters(), privacy).programs.values) == 2
    capability = views.capability(build, figures.Filters(), privacy)
    assert capability.k == 19 and len(capability.values) == 2  # teams of 40 and 36
