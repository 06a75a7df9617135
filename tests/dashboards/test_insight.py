"""The Engagement page's weekday × hour heatmap and the Content page's drop-off funnel, under the
k rule (k = 5): a cell or cohort of fewer than k learners is hidden with a second one where the
hidden part alone would hold fewer than k, and a step reached or missed by fewer than k reads
"fewer than 5"."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from skillstream import warehouse
from skillstream.dashboards import charts_insight, figures, views
from skillstream.dashboards.suppression import Privacy
from skillstream.settings import Settings
from tests.conftest import REPO
from tests.dashboards.conftest import P1, publish, publish_with, random_filters

HOURS = [
    # weekday, hour, cohort, org, team, role, active learners, sessions, minutes, small
    (1, 9, "pilot", "acme", "data", "analyst", 8, 12, 300.0, False),
    (2, 10, "pilot", "acme", "data", "analyst", 7, 9, 200.0, False),
    (3, 14, "pilot", "acme", "data", "analyst", 6, 6, 90.0, False),
    (7, 23, "pilot", "acme", "data", "analyst", 2, 2, 30.0, True),
]
M1, M2 = f"{P1}/modules/m1", f"{P1}/modules/m2"
FUNNEL = [
    # cohort, launched, m1, m2, completed
    ("pilot", 20, 18, 12, 9),
    ("pilot-b", 12, 10, 8, 6),  # 2 did not reach m1: fewer than k
    ("pilot-c", 10, 9, 7, 5),  # hidden with control: 3 alone would be worked out from a total
    ("control", 3, 3, 2, 1),
]


def funnel_rows() -> list[tuple]:
    steps = [(0, P1, "launched"), (1, M1, "module"), (2, M2, "module"), (3, P1, "completed")]
    return [
        (P1, cohort, order, step_id, kind, reached[order], reached[0] < 5)
        for cohort, *reached in FUNNEL
        for order, step_id, kind in steps
    ]


INSIGHT_MARTS = """
CREATE TABLE marts.engagement_by_hour (
    weekday INTEGER, hour INTEGER, cohort VARCHAR, org VARCHAR, team VARCHAR, role VARCHAR,
    active_learners BIGINT, sessions BIGINT, active_minutes DOUBLE, is_small_group BOOLEAN);
CREATE TABLE marts.program_funnel (
    program_id VARCHAR, cohort VARCHAR, step_order INTEGER, step_id VARCHAR, step_kind VARCHAR,
    learners_reached BIGINT, is_small_group BOOLEAN);
"""


@pytest.fixture
def insight_published(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    rows = {"engagement_by_hour": HOURS, "program_funnel": funnel_rows()}
    return publish_with(settings, monkeypatch, INSIGHT_MARTS, rows)


def published(settings: Settings) -> figures.Published:
    from skillstream.dashboards.report import read_status

    current, _ = read_status(settings)
    assert current is not None
    return figures.Published(
        current["build_id"], current["finished_at"], current["snapshot"], None, True, []
    )


def test_the_heatmap_hides_small_cells_and_the_one_that_would_give_them_away(
    insight_published: Settings,
) -> None:
    shown = views.engagement_by_weekday_hour(
        published(insight_published), figures.Filters(), Privacy(5)
    )
    assert list(zip(shown.values["weekday"], shown.values["hour"], strict=True)) == [
        (1, 9),
        (2, 10),
    ]
    assert list(shown.values["sessions"]) == [12, 9]
    assert shown.hidden_groups == 2
    chart = charts_insight.weekday_hour_heatmap(shown.values, "sessions").to_dict()
    data = next(iter(chart["datasets"].values()))
    assert [(cell["day"], cell["hour"]) for cell in data] == [("Mon", 9), ("Tue", 10)]


def test_the_heatmap_under_a_team_filter_uses_the_subteam_k(insight_published: Settings) -> None:
    filters = figures.Filters({"team": ("data",)})
    shown = views.engagement_by_weekday_hour(
        published(insight_published), filters, Privacy(5, k_subteam=8)
    )
    assert list(shown.values["active_learners"]) == [8]  # 7, 6 and 2 are under 8


def test_the_funnel_hides_small_cohorts_and_small_drop_offs(insight_published: Settings) -> None:
    shown = views.program_funnel(published(insight_published), figures.Filters(), Privacy(5))
    table = shown.table()
    assert sorted(set(table["cohort"])) == ["pilot", "pilot-b"]
    b = table[table["cohort"] == "pilot-b"]
    # launched 12; m1 missed by 2, m2 by 4: under k; completed 6 and missed by 6
    assert list(b["learners_reached"]) == [12, "fewer than 5", "fewer than 5", 6]
    assert "not_reached" not in table.columns
    pilot = table[table["cohort"] == "pilot"]
    assert list(pilot["learners_reached"]) == [20, "fewer than 5", 12, 9]  # 2 missed m1


def test_the_pages_show_the_heatmap_and_the_funnel(insight_published: Settings) -> None:
    app = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("screens/engagement.py").run()
    assert not app.exception, app.exception
    assert "When learners start sessions" in [s.value for s in app.subheader]
    assert app.radio(key="engagement_when").value == "sessions"
    captions = "\n".join(c.value for c in app.caption)
    assert "2 weekday × hour cell(s) with fewer than 5 learners" in captions

    app.switch_page("screens/content.py").run()
    assert not app.exception, app.exception
    assert "Drop-off per program" in [s.value for s in app.subheader]
    assert app.selectbox(key="content_funnel_program").value == P1
    funnel = app.dataframe[-1].value
    assert list(funnel["step_id"]) == [P1, M1, M2, P1] * 2
    assert "8 cohort × step(s) with fewer than 5 learners" in "\n".join(
        c.value for c in app.caption
    )
    # the build has no item analysis: the page says so and still shows the funnel
    assert any("no marts.item_analysis" in i.value for i in app.info)


# ---- property: over a simulated organisation of small groups, under random filters ----------

SIM_COHORTS, SIM_TEAMS, SIM_ROLES = ("pilot", "control", "b"), ("t1", "t2", "t3"), ("r1", "r2")
STEPS = [(0, P1, "launched"), (1, M1, "module"), (2, M2, "module"), (3, P1, "completed")]


def simulated(rng: random.Random) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Learner-level truth: who started a session in which weekday × hour cell, and how far
    each learner got in the program."""
    cells, reached = [], []
    for n in range(70):
        learner = (f"l{n}", rng.choice(SIM_COHORTS), "acme", rng.choice(SIM_TEAMS))
        role = rng.choice(SIM_ROLES)
        for _ in range(rng.randint(1, 4)):
            cells.append((*learner, role, rng.randint(1, 3), rng.choice((9, 10, 14))))
        reached.append((*learner, role, rng.choice((0, 1, 1, 2, 2, 3, 3, 3))))
    columns = ["learner", "cohort", "org", "team", "role"]
    return (
        pd.DataFrame(cells, columns=[*columns, "weekday", "hour"]).drop_duplicates(),
        pd.DataFrame(reached, columns=[*columns, "last_step"]),
    )


def publish_simulated_insight(
    settings: Settings, cells: pd.DataFrame, reached: pd.DataFrame
) -> None:
    groups = ["weekday", "hour", "cohort", "org", "team", "role"]
    hours = cells.groupby(groups, as_index=False).agg(active_learners=("learner", "nunique"))
    funnel = [
        (P1, cohort, order, step_id, kind, int((part["last_step"] >= order).sum()), len(part) < 5)
        for cohort, part in reached.groupby("cohort")
        for order, step_id, kind in STEPS
    ]
    con = warehouse.connect(settings)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.register("hours", hours)
    con.execute(
        "CREATE TABLE marts.engagement_by_hour AS SELECT *, active_learners AS sessions, "
        "0.0 AS active_minutes, active_learners < 5 AS is_small_group FROM hours"
    )
    con.execute(
        "CREATE TABLE marts.program_funnel (program_id VARCHAR, cohort VARCHAR, "
        "step_order INTEGER, step_id VARCHAR, step_kind VARCHAR, learners_reached BIGINT, "
        "is_small_group BOOLEAN)"
    )
    con.executemany(f"INSERT INTO marts.program_funnel VALUES ({', '.join('?' * 7)})", funnel)
    con.close()
    publish(settings)


def chosen(frame: pd.DataFrame, filters: figures.Filters) -> pd.DataFrame:
    for name, values in filters.chosen.items():
        frame = frame[frame[name].isin(values)]
    return frame


def test_nothing_of_fewer_than_k_learners_in_the_heatmap_or_the_funnel(settings: Settings) -> None:
    rng = random.Random(20261207)
    cells, reached = simulated(rng)
    publish_simulated_insight(settings, cells, reached)
    build = published(settings)
    shown_cells = 0
    for _ in range(20):
        filters = random_filters(rng, {"team": SIM_TEAMS, "role": SIM_ROLES}, 0.5, 2)
        privacy = Privacy(5, k_subteam=rng.choice([0, 8]))
        heatmap = views.engagement_by_weekday_hour(build, filters, privacy)
        truth = chosen(cells, filters).groupby(["weekday", "hour"])["learner"].nunique()
        visible = set(zip(heatmap.values["weekday"], heatmap.values["hour"], strict=True))
        k = privacy.k_for(filters.chosen, ())  # the sub-team k under a team or role filter
        assert all(truth[cell] >= k for cell in visible)
        hidden = sum(n for cell, n in truth.items() if cell not in visible)
        assert hidden == 0 or hidden >= k
        shown_cells += len(visible)
    assert shown_cells > 0  # the loop showed something, so the checks checked something

    funnel = views.program_funnel(build, figures.Filters(), Privacy(5)).table()
    launched = reached.groupby("cohort").size()
    assert not funnel.empty
    for row in funnel.itertuples():
        assert launched[row.cohort] >= 5
        if row.step_order and row.learners_reached != "fewer than 5":
            cohort = reached[reached["cohort"] == row.cohort]
            went_on = int((cohort["last_step"] >= row.step_order).sum())
            assert went_on >= 5 and launched[row.cohort] - went_on >= 5
    hidden_cohorts = set(launched.index) - set(funnel["cohort"])
    hidden_launched = sum(launched[c] for c in hidden_cohorts)
    assert hidden_launched == 0 or hidden_launched >= 5
