"""The At risk page (marts.at_risk_weekly) on the simulated organisation of small groups: the
latest week's share at risk per program and cohort (and team), and one program's weekly trend
per cohort, with nothing resting on fewer than k learners (k = 5)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from skillstream import warehouse
from skillstream.dashboards import labels, views
from skillstream.dashboards.suppression import Privacy, Shown
from skillstream.settings import Settings
from tests.conftest import REPO
from tests.dashboards.conftest import publish_simulated, random_filters, simulated_organisation
from tests.dashboards.test_insight import published

WEEKS = [date(2026, 10, 5) + timedelta(weeks=n) for n in range(8)]
LATEST = WEEKS[-1]
GROUP = ["program_id", "cohort", "org", "team", "role"]


# the control cohort's learners drift away most, the pilot's least: some groups are nearly all
# at risk, some nearly none, so that either side of a share can be the one under k
AT_RISK_CHANCE = {"pilot": 0.3, "control": 0.8}


def at_risk_truth(organisation: dict[str, list[tuple]], seed: int = 25) -> pd.DataFrame:
    """Learner × program × week: enrolled once first seen by the week's end, at risk by chance
    (AT_RISK_CHANCE, one in two for other cohorts)."""
    rng = random.Random(seed)
    rows = []
    for learner, program, cohort, org, team, role, *_, seen, _, _, _ in organisation[
        "learner_programs"
    ]:
        for week in WEEKS:
            if seen < pd.Timestamp(week + timedelta(days=7)):
                at_risk = rng.random() < AT_RISK_CHANCE.get(cohort, 0.5)
                rows.append((week, learner, program, cohort, org, team, role, at_risk))
    return pd.DataFrame(rows, columns=["week_start", "learner", *GROUP, "at_risk"])


def publish_at_risk(settings: Settings, truth: pd.DataFrame, organisation: dict) -> None:
    mart = truth.groupby(["week_start", *GROUP], as_index=False).agg(
        enrolled=("learner", "size"), at_risk=("at_risk", "sum")
    )
    con = warehouse.connect(settings)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.register("mart", mart)
    con.execute(
        "CREATE OR REPLACE TABLE marts.at_risk_weekly AS SELECT week_start::DATE AS week_start, "
        "program_id, cohort, org, team, role, enrolled::BIGINT AS enrolled, "
        "at_risk::BIGINT AS at_risk, enrolled < 5 AS is_small_group FROM mart"
    )
    con.close()
    publish_simulated(settings, organisation)


@pytest.fixture
def at_risk_truth_published(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, pd.DataFrame]:
    organisation = simulated_organisation()
    truth = at_risk_truth(organisation)
    publish_at_risk(settings, truth, organisation)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    return settings, truth


def shares(truth: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: enrolled learners, those at risk and not."""
    grouped = truth.groupby(by).agg(enrolled=("learner", "nunique"), at_risk=("at_risk", "sum"))
    return grouped.assign(not_at_risk=grouped["enrolled"] - grouped["at_risk"])


def page_shares(truth: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """shares() by the programme names the page shows (the simulated programmes have none:
    their IRI's last part)."""
    named = truth["program_id"].map(lambda p: labels.subject_name(p, {}))
    return shares(truth.assign(program_id=named), by)


def rate_text(share: float) -> str:
    return f"{share * 100:.1f} %"


def shown_as_truth(table: pd.DataFrame, truth: pd.DataFrame) -> int:
    """The page's latest-week table against the learner-level truth of its rows: enrolled
    exactly, the share exactly or "fewer than 5" where either side has fewer than 5 learners.
    Returns the shares shown."""
    told = 0
    for row in table.itertuples():
        expected = truth.loc[(row.program_id, row.cohort)]
        assert int(row.enrolled) == expected["enrolled"]
        if min(expected["at_risk"], expected["not_at_risk"]) < 5:
            assert row.at_risk_share == "fewer than 5"
        else:
            assert row.at_risk_share == rate_text(expected["at_risk"] / expected["enrolled"])
            told += 1
    return told


def test_the_page_shows_the_latest_share_and_hides_small_groups(
    at_risk_truth_published: tuple[Settings, pd.DataFrame],
) -> None:
    _, truth = at_risk_truth_published
    latest = truth[truth["week_start"] == LATEST]
    app = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("screens/at_risk.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "At risk"
    assert f"Week starting {LATEST.isoformat()}" in [s.value for s in app.subheader]
    assert "skillstream report at-risk --roster" in "\n".join(c.value for c in app.caption)
    everyone = page_shares(latest, ["program_id", "cohort"])
    table = app.dataframe[0].value
    assert len(table) == len(everyone)  # every program × cohort has 5 learners or more
    assert shown_as_truth(table, everyone) > 0  # a share, not only "fewer than 5"
    assert app.selectbox(key="at_risk_program").value == min(truth["program_id"])
    assert "Weekly trend per cohort" in [s.value for s in app.subheader]

    # one organisation's groups: some have fewer than 5 learners
    app.multiselect(key="filter_org").set_value(["globex"]).run()
    assert not app.exception, app.exception
    globex = page_shares(latest[latest["org"] == "globex"], ["program_id", "cohort"])
    small = {group for group, row in globex.iterrows() if row["enrolled"] < 5}
    table = app.dataframe[0].value
    shown = set(zip(table["program_id"], table["cohort"], strict=True))
    assert small and not small & shown
    shown_as_truth(table, globex)
    hidden = len(globex) - len(shown)
    captions = "\n".join(c.value for c in app.caption)
    assert f"{hidden} program × cohort group(s) with fewer than 5 learners" in captions


def test_per_team_the_groups_are_teams_of_a_programs_cohort(
    at_risk_truth_published: tuple[Settings, pd.DataFrame],
) -> None:
    _, truth = at_risk_truth_published
    app = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("screens/at_risk.py").run()
    app.toggle(key="at_risk_per_team").set_value(True).run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert list(table.columns[:3]) == ["program_id", "cohort", "team"]
    truth_latest = page_shares(
        truth[truth["week_start"] == LATEST], ["program_id", "cohort", "team"]
    )
    assert all(
        truth_latest.loc[key, "enrolled"] >= 5
        for key in zip(table["program_id"], table["cohort"], table["team"], strict=True)
    )
    assert "program × cohort × team group(s) with fewer than 5" in "\n".join(
        c.value for c in app.caption
    )

    # under a team or role filter the groups are teams whatever the toggle says: engineers make
    # program × cohort groups of up to 7, but no team has 5 engineers in one
    app.toggle(key="at_risk_per_team").set_value(False).run()
    app.multiselect(key="filter_role").set_value(["engineer"]).run()
    assert not app.exception, app.exception
    assert "Per team, as a team or role filter is chosen." in [c.value for c in app.caption]
    assert not app.dataframe
    assert any("Widen or clear the role filter" in i.value for i in app.info)


def test_nothing_shown_rests_on_fewer_than_k_learners(
    at_risk_truth_published: tuple[Settings, pd.DataFrame],
) -> None:
    settings, truth = at_risk_truth_published
    build = published(settings)
    rng = random.Random(20261207)
    organisation = truth.drop_duplicates("team")
    teams, roles = sorted(organisation["team"]), sorted(set(truth["role"]))
    programs = sorted(set(truth["program_id"]))
    shown_shares = 0
    for _ in range(12):
        filters = random_filters(rng, {"team": teams, "role": roles}, 0.4, 3)
        privacy = Privacy(5, k_subteam=rng.choice([0, 8]))
        per_team = rng.random() < 0.5
        chosen = truth
        for name, values in filters.chosen.items():
            chosen = chosen[chosen[name].isin(values)]
        latest = views.at_risk_latest(build, filters, per_team, privacy)
        by = ["program_id", "cohort", *(["team"] if per_team else [])]
        k = privacy.k_for(filters.chosen, by)
        shown_shares += check(latest, shares(chosen[chosen["week_start"] == LATEST], by), by, k)
        program = rng.choice(programs)
        trend = views.at_risk_trend(build, filters, program, privacy)
        in_program = chosen[chosen["program_id"] == program]
        weeks = shares(
            in_program.assign(week_start=pd.to_datetime(in_program["week_start"])),
            ["week_start", "cohort"],
        )
        check(trend, weeks, ["week_start", "cohort"], privacy.k_for(filters.chosen, ()))
    assert shown_shares > 0  # the checks checked something


def check(shown: Shown, truth: pd.DataFrame, by: list[str], k: int) -> int:
    """Every visible group has k learners, every visible share k at risk and k not; the hidden
    groups of a sibling set (all but the last grouping) hold none or k learners, or are the
    whole set (whose total has fewer than k too). Returns the shares shown."""
    values = shown.values.assign(week_start=lambda f: pd.to_datetime(f["week_start"]))
    visible = set(map(tuple, values[by].itertuples(index=False)))
    told = 0
    for row in values.itertuples(index=False):
        key = tuple(getattr(row, c) for c in by)
        assert truth.loc[key, "enrolled"] >= k
        if not pd.isna(row.at_risk_share):
            assert min(truth.loc[key, "at_risk"], truth.loc[key, "not_at_risk"]) >= k
            told += 1
    for _, part in truth.groupby(level=list(range(len(by) - 1))):
        hidden = sum(n for key, n in part["enrolled"].items() if key not in visible)
        assert hidden == 0 or hidden >= k or hidden == part["enrolled"].sum()
    return told
