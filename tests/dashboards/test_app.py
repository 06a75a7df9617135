"""AppTests of each page, on a published build with known numbers (tests/dashboards/conftest.py)."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from skillstream import warehouse
from skillstream.dashboards import data, labels
from skillstream.run import home_lock
from skillstream.settings import Settings
from tests.conftest import REPO
from tests.dashboards.conftest import (
    P1,
    P2,
    SKILL,
    publish,
    publish_simulated,
    publish_with,
    simulated_organisation,
)

APP = str(REPO / "dashboards" / "app.py")


def run_app(page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    if page:
        app.switch_page(f"screens/{page}.py").run()
        assert not app.exception, app.exception
    return app


def captions(app: AppTest) -> str:
    return "\n".join(c.value for c in app.caption)


def markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def set_filter(app: AppTest, name: str, *values: str) -> None:
    widget = app.multiselect(key=f"filter_{name}")
    for value in values:
        widget.select(value)
    app.run()
    assert not app.exception, app.exception


def test_overview_shows_the_kpis_against_targets(published_settings: Settings) -> None:
    app = run_app()
    assert app.title[0].value == "Overview"
    metrics = {m.label: m.value for m in app.metric}
    # 31 of 79 enrolments completed (p1: 30 + 9 of 76; p2: 1 of 3); 40 of 76 learners mastered
    assert metrics["Completion rate"] == "51%"
    assert metrics["Mastery rate"] == "53%"
    assert metrics["Median days to competency"] == "13.0 days"  # 40 values: 19th–23rd are 13
    assert ":green-badge[:material/check: on target ≤ 21 days]" in markdown(app)
    assert ":orange-badge[:material/warning: below target 60%]" in markdown(app)
    assert metrics["ROI, pilot"] == "43 %"  # marts.roi_quarterly; the baseline is not listed
    assert "ROI, control" not in metrics
    assert "./definitions#completion-rate" in captions(app)
    # when, to the minute, as people read a time (not "2026-12-07T18:17:02.535642")
    assert re.search(r"Built \d{4}-\d\d-\d\d \d\d:\d\d UTC \(build build-", captions(app))
    assert not app.warning
    # the trend's table: a KPI a row under its label, a quarter a column, in its unit
    by_kpi = app.dataframe[-1].value.set_index("KPI")
    assert list(by_kpi.columns) == ["2026Q3"]
    assert by_kpi.loc["Completion rate", "2026Q3"] == "50.6 %"
    assert by_kpi.loc["Median days to competency", "2026Q3"] == "13.0"


def test_overview_answers_did_the_pilot_work_first(published_settings: Settings) -> None:
    app = run_app()
    # capability and time to competency lead, then retention, then completion and ROI
    assert [m.label for m in app.metric] == [
        "Mastery rate",
        "Median days to competency",
        "30-day retention",
        "Completion rate",
        "ROI, pilot",
    ]
    # completion 31/43 vs 9/36; ROI 43 % of marts.roi_quarterly against its 100 % target
    assert app.success[0].value == (
        "**Did the pilot cohort work, against control?** Yes — competent ~10 days sooner, "
        "mastery 70 % vs 33 %, completion 72 % vs 25 %, ROI 43 %, payback ~8 months; "
        "ROI is still below target"
    )


def test_overview_explains_an_empty_verdict(published_settings: Settings) -> None:
    app = run_app()
    set_filter(app, "team", "team-b")  # the control team: no pilot learners
    assert not app.success
    assert app.info[0].value == (
        "No verdict for pilot: this selection has no pilot learners in groups of 5 or more; "
        "widen the team filter."
    )


def test_overview_says_which_filter_to_widen_and_keeps_the_roi(
    published_settings: Settings,
) -> None:
    app = run_app()
    set_filter(app, "team", "team-a")
    set_filter(app, "cohort", "control")  # team-a is all pilot: nothing is left
    assert app.info[0].value == (
        "No group is large enough to show: every group here has fewer than 5 learners, and "
        "figures about so few people could point to one of them. Widen or clear the team, "
        "cohort filters."
    )
    # the ROI card does not depend on the filters
    assert {m.label: m.value for m in app.metric} == {"ROI, pilot": "43 %"}


def test_overview_filter_by_cohort(published_settings: Settings) -> None:
    app = run_app()
    set_filter(app, "cohort", "pilot")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Completion rate"] == "72%"  # 31 of 43
    assert metrics["Mastery rate"] == "70%"  # 28 of 40


def test_filters_are_kept_across_pages_and_in_the_url(published_settings: Settings) -> None:
    app = run_app()
    set_filter(app, "cohort", "pilot")
    assert dict(app.query_params) == {"cohort": "pilot"}
    app.switch_page("screens/capability.py").run()
    assert app.multiselect(key="filter_cohort").value == ["pilot"]
    app.switch_page("screens/overview.py").run()
    assert app.multiselect(key="filter_cohort").value == ["pilot"]
    assert {m.label: m.value for m in app.metric}["Completion rate"] == "72%"  # 31 of 43


def test_a_shared_link_restores_its_filters(published_settings: Settings) -> None:
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["cohort"] = ["pilot"]
    app.query_params["team"] = ["team-a", "no-such-team"]  # a value not in the build is dropped
    app.run()
    assert not app.exception, app.exception
    assert app.multiselect(key="filter_cohort").value == ["pilot"]
    assert app.multiselect(key="filter_team").value == ["team-a"]
    assert {m.label: m.value for m in app.metric}["Completion rate"] == "72%"


def test_overview_cards_show_their_unit_and_the_change_since_the_previous_quarter(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_simulated(settings, simulated_organisation())
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    app = run_app()
    set_filter(app, "quarter", "2026Q2", "2026Q3")  # 2026Q4's ROI groups are all under k
    cards = {m.label: m for m in app.metric}
    assert cards["Median days to competency"].value.endswith(" days")
    for label, card in cards.items():
        assert card.delta and card.delta.endswith("vs 2026Q2"), label
    assert cards["Median days to competency"].delta.split(" vs ")[0].endswith(" days")
    assert cards["ROI, pilot"].delta == "+0 points vs 2026Q2"  # 50 % in each quarter


def test_overview_hides_the_kpis_of_a_small_group(published_settings: Settings) -> None:
    app = run_app()
    set_filter(app, "program", P2)  # 3 learners in p2; the skill side is not filtered by program
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Completion rate"] == "–"
    assert metrics["Mastery rate"] == "53%"
    assert (
        "1 quarter(s) with fewer than 5 learners, or that would let one be worked out from a "
        "total, are hidden, so that no one can be singled out." in captions(app)
    )


def test_cohorts_page_gives_a_verdict_with_interval_and_n(published_settings: Settings) -> None:
    app = run_app("cohorts")
    assert app.title[0].value == "Pilot vs control"
    set_filter(app, "program", P1)
    text = markdown(app)
    # 30/40 vs 9/36: Wilson (59.8–85.8 %) and (13.8–40.9 %) make Newcombe's interval 28–66 points
    assert (
        "On p1, pilot completes 50 points more than control (95 % CI 28–66) — n = 40 vs 36 "
        "learners." in text
    )
    assert "On data analysis, pilot masters 37 points more than control" in text
    # retention: 7 of 14 checked pilot learners, but 3 of 6 control learners: fewer than k on
    # each side, so no retention rate of control and no verdict
    assert "retains after 30 days" not in text
    assert "reaches competency 9.5 days sooner than control" in text  # medians 12 vs 21.5
    # the interval in the reader's direction, never "-11.4 to -8.1"
    assert re.search(r"bootstrap CI \d+\.\d to \d+\.\d days sooner\) — n = 28", text), text
    assert "each learner counts once" in captions(app)
    per_cohort = app.dataframe[0].value.set_index("cohort")
    assert per_cohort.loc["control", "retention_30d_rate"] == "fewer than 5"
    assert per_cohort.loc["pilot", "retention_30d_rate"] == "50.0 %"


def test_cohorts_page_hides_small_groups(published_settings: Settings) -> None:
    app = run_app("cohorts")
    set_filter(app, "program", P2)  # only 3 pilot learners
    assert "1 group(s) with fewer than 5 learners" in captions(app)
    assert "50 points" not in markdown(app)


def test_capability_offers_the_lowest_team_and_skill_first(published_settings: Settings) -> None:
    app = run_app("capability")
    # team-b: 12 of its 36 learners mastered data-analysis; team-a 28 of 40
    assert "Lowest team × skill: **team-b on data analysis**, 33% of 36 mastered." in markdown(app)
    app.selectbox(key="drill_team").set_value("team-a").run()
    drill = app.dataframe[0].value.set_index("group")
    assert list(drill.index) == ["analyst", "engineer"]
    assert drill["learners"].astype(int).sum() == 40


def test_skills_and_programmes_show_by_their_names(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_with(
        settings,
        monkeypatch,
        "CREATE TABLE marts.subject_names (subject_id VARCHAR, name VARCHAR, program VARCHAR)",
        {"subject_names": [(SKILL, "Data analysis", None), (P1, "Python for analysts", None)]},
    )
    capability = run_app("capability")
    assert "**team-b on Data analysis**" in markdown(capability)
    assert capability.selectbox(key="drill_skill").format_func(SKILL) == "Data analysis"
    assert "Python for analysts" in capability.multiselect(key="filter_program").options
    assert capability.multiselect(key="filter_skill").options == ["Data analysis"]
    cohorts = run_app("cohorts")
    text = markdown(cohorts)
    assert "On Python for analysts, pilot completes" in text
    assert "On Data analysis, pilot masters" in text
    assert "https://" not in text


def test_capability_heatmap_and_drill(published_settings: Settings) -> None:
    app = run_app("capability")
    assert app.title[0].value == "Capability"
    assert app.selectbox(key="drill_skill").value == SKILL
    app.radio(key="drill_by").set_value("cohort").run()
    assert not app.exception
    drill = app.dataframe[0].value.set_index("group")
    assert int(drill.loc["pilot", "learners"]) == 40
    # numbers, or a column's text in its unit where a figure is hidden
    assert labels.show_column("mastery_rate", drill.loc["pilot", "mastery_rate"]) == "70.0 %"
    days = drill.loc["control", "median_days_to_competency"]
    assert labels.show_column("median_days_to_competency", days) == "21.5"


def vega_specs(app: AppTest) -> list[dict]:
    nodes = app.main.children.values()
    return [json.loads(n.proto.spec) for n in nodes if type(n).__name__ == "UnknownElement"]


def test_each_cohort_has_one_colour_on_every_chart(published_settings: Settings) -> None:
    """Fixed colours, not the theme's palette (which differs between light and dark)."""
    scales = [spec["encoding"]["color"]["scale"] for spec in vega_specs(run_app("engagement"))] + [
        spec["spec"]["layer"][0]["encoding"]["color"]["scale"]
        for spec in vega_specs(run_app("cohorts"))
        if "facet" in spec
    ]
    assert scales and all(
        scale == {"domain": ["control", "pilot"], "range": ["#0072B2", "#E69F00"]}
        for scale in scales
    ), scales


def test_engagement_hides_the_small_team(published_settings: Settings) -> None:
    app = run_app("engagement")
    assert app.title[0].value == "Engagement"
    # the week of 6 July: unassigned (2 learners) hidden, and control with it, or the week's
    # total minus pilot would give unassigned away
    assert "2 week × cohort group(s) with fewer than 5 learners" in captions(app)
    totals = app.dataframe[0].value.set_index("cohort")
    assert set(totals.index) == {"pilot", "control"}
    assert totals.loc["pilot", "sessions"] == 150
    set_filter(app, "skill", SKILL)
    assert "Filter(s) skill do not apply" in captions(app)


def test_roi_page_recomputes_live_and_offers_the_report(published_settings: Settings) -> None:
    app = run_app("roi")
    assert app.title[0].value == "ROI"
    published = app.dataframe[0].value.set_index("cohort")
    assert published.loc["pilot", "roi_pct"] == "43.0 %"
    assert published.loc["control", "roi_pct"] == "baseline"  # not a loss of 100 %
    recomputed = app.dataframe[2].value.set_index("cohort")
    # with the published assumptions, the recomputation is the mart's own numbers
    assert recomputed.loc["pilot", "costs"] == pytest.approx(67440.0)
    assert recomputed.loc["pilot", "roi_pct"] == pytest.approx(43.0012, abs=1e-3)
    app.number_input(key="assumption_programme_cost_per_learner").set_value(3000.0).run()
    assert not app.exception
    after = app.dataframe[2].value.set_index("cohort")
    assert after.loc["pilot", "costs"] == pytest.approx(40 * 3000 + 7440.0)
    assert after.loc["pilot", "roi_pct"] == pytest.approx((96440 - 127440) / 127440 * 100)
    assert len(app.get("download_button")) == 3


def test_data_quality_counts_the_roster_learners_seen(published_settings: Settings) -> None:
    con = warehouse.connect(published_settings)
    con.executemany(
        "INSERT INTO raw.roster (learner_id, cohort, team, imported_at) VALUES (?, ?, ?, now())",
        [
            (
                f"a{i}",
                "pilot",
                "team-a",
            )
            for i in range(6)
        ]
        + [(f"b{i}", "control", "team-b") for i in range(7)]
        + [(f"c{i}", "control", "team-c") for i in range(2)],  # under k = 5
    )
    con.close()
    data.warehouse_facts.clear()  # cached for 30 s, across the tests of this process
    try:
        app = run_app("quality")
    finally:
        data.warehouse_facts.clear()
    roster = app.dataframe[0].value.set_index("team")
    assert list(roster.index) == ["team-a", "team-b"]
    assert roster.loc["team-b", "on the roster"] == 7
    assert roster.loc["team-b", "share seen"] == "0%"  # no statement has landed
    assert "1 team × cohort group(s) with fewer than 5 learners" in captions(app)  # team-c
    assert "**No statements have landed yet.**" in markdown(app)


def test_data_quality_page(published_settings: Settings) -> None:
    publish(published_settings, published=False, failures=[{"check": "gx:marts:x", "detail": "3"}])
    app = run_app("quality")
    assert app.title[0].value == "Data quality"
    assert {m.label: m.value for m in app.metric}["Newest build"] == "held back"
    assert "1 check(s) failed" in app.error[0].value
    assert len(app.dataframe[1].value) == 2  # quality.runs: both builds
    assert re.search(r"Build build-\S+, finished \d{4}-\d\d-\d\d \d\d:\d\d UTC", captions(app))


def test_data_quality_lists_the_checks_that_ran(published_settings: Settings) -> None:
    current = published_settings.published_dir / "current.json"
    record = json.loads(current.read_text())
    record["checks"] = [
        {"source": "dbt test", "table": "learner_skills", "check": "not_null",
         "column": "learner_id", "passed": True, "observed": 0},
        {"source": "Great Expectations", "table": "raw.statements",
         "covered": "new slice: 120 rows landed after 2026-07-01 12:00:00",
         "check": "expect_table_row_count_to_be_between", "column": None, "passed": False,
         "observed": f"error: cannot open {published_settings.warehouse}"},
    ]  # fmt: skip
    current.write_text(json.dumps(record))
    app = run_app("quality")
    assert "**2 checks ran on build" in markdown(app)
    assert "(1 dbt tests, 1 expectations): **1 failed.**" in markdown(app)
    checks = app.dataframe[0].value
    assert list(checks.columns) == [
        "Result", "Ran by", "Table", "Rows checked", "Column", "Check", "Observed"
    ]  # fmt: skip
    assert checks.iloc[0].to_dict() == {
        "Result": "failed",
        "Ran by": "Great Expectations",
        "Table": "raw.statements",
        "Rows checked": "new slice: 120 rows landed after 2026-07-01 12:00:00",
        "Column": "—",
        "Check": "table row count to be between",
        "Observed": f"error: cannot open {published_settings.warehouse.name}",
    }
    assert checks.iloc[1]["Check"] == "not null"
    assert checks.iloc[1]["Rows checked"] == "—"  # a record that does not say


def test_pipeline_health_without_a_broker(published_settings: Settings) -> None:
    app = run_app("health")
    assert app.title[0].value == "Pipeline health"
    # no live intake runs, so a broker that is down is no cause for alarm
    assert not app.warning
    assert "Kafka is not running, and that is fine" in app.info[0].value
    assert {m.label: m.value for m in app.metric}["Statements landed"] == "0"
    assert str(published_settings.home) not in captions(app)  # no server file paths


def test_pipeline_health_warns_when_the_live_intake_lacks_its_broker(
    published_settings: Settings,
) -> None:
    with home_lock(published_settings):  # as `skillstream run` holds it
        app = run_app("health")
    assert "Kafka cannot be reached" in app.warning[0].value
    assert "while the live intake runs" in app.warning[0].value


def test_definitions_page_prints_the_settings_in_force(
    published_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLSTREAM_MASTERY_THRESHOLD", "0.7")
    monkeypatch.setenv("SKILLSTREAM_K_ANONYMITY_SUBTEAM", "10")
    text = markdown(run_app("definitions"))
    assert "θ = 0.7 (setting mastery_threshold)" in text and "θ = 0.8" not in text
    assert "k = 5, setting k_anonymity; k = 10 for views filtered or grouped by team" in text
    assert "the team's learners who mastered the skill" in text  # capability's one denominator


def test_definitions_page_quotes_design(published_settings: Settings) -> None:
    app = run_app("definitions")
    assert [s.value for s in app.subheader][:3] == ["enrolled", "completed", "completion_rate"]
    assert "completed / enrolled" in markdown(app)


def test_a_held_back_build_is_announced(published_settings: Settings) -> None:
    publish(
        published_settings,
        published=False,
        failures=[{"check": "gx:raw_statements:x", "detail": "3"}],
    )
    app = run_app()
    assert "was held back by the quality gate: gx:raw_statements:x (3)" in app.warning[0].value
    assert app.metric  # the last published build is still shown


def test_before_any_publish_the_page_says_what_to_do(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    app = run_app()
    assert "No build has been published yet" in app.info[0].value
