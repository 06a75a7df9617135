"""On a real demo warehouse: every page renders with real numbers, the ROI page's what-if gives
the mart's numbers back, and the report the demo wrote carries the mart's numbers."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skillstream.cli import _use_demo_settings
from skillstream.dashboards import labels, report
from skillstream.quality.publish import connect_snapshot, read_status
from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.dashboards.conftest import EVERY_PAGE
from tests.dashboards.test_app import APP

pytestmark = pytest.mark.integration


def published_roi(settings: Settings) -> tuple[str, list[tuple]]:
    current, _ = read_status(settings)
    assert current is not None
    con = connect_snapshot(current["snapshot"])
    try:
        quarter = con.execute("SELECT max(quarter) FROM marts.roi_quarterly").fetchall()[0][0]
        rows = con.execute(
            "SELECT cohort, learners, costs, benefits, roi_pct FROM marts.roi_quarterly "
            "WHERE quarter = ? AND learners >= ? ORDER BY cohort",
            [quarter, settings.k_anonymity],
        ).fetchall()
    finally:
        con.close()
    return quarter, rows


def test_every_page_on_the_demo(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in demo_settings.as_env().items():
        monkeypatch.setenv(key, value)
    for page in EVERY_PAGE:
        app = AppTest.from_file(APP, default_timeout=120)
        app.run()
        app.switch_page(f"screens/{page}.py").run()
        assert not app.exception, (page, app.exception)
        assert not [i.value for i in app.info if "No group is large enough" in i.value], page
        if page == "overview":
            metrics = {m.label: m.value for m in app.metric}
            assert metrics["Completion rate"].endswith("%") and metrics["Completion rate"] != "0%"
        if page == "cohorts":
            assert "pilot completes" in "\n".join(m.value for m in app.markdown)
        if page == "health":  # the session's broker is up and the demo's transform caught up
            metrics = {m.label: m.value for m in app.metric}
            assert metrics["Total lag"] == "0 statement(s)"
            assert int(metrics["Statements landed"].replace(",", "")) > 1000
        if page == "engagement":  # the weekday × hour heatmap has cells to show
            assert not [i.value for i in app.info if "No weekday × hour cell" in i.value]
        if page == "content":  # the simulated course's funnel, per cohort
            assert app.selectbox(key="content_funnel_program").options
            assert {"pilot", "control"} <= set(app.dataframe[-1].value["cohort"])
        if page == "at_risk":  # the latest week's groups, then one program's trend
            assert "Weekly trend per cohort" in [s.value for s in app.subheader]
        if page == "roi":
            _, rows = published_roi(demo_settings)
            shown = app.dataframe[0].value.set_index("cohort")
            recomputed = app.dataframe[2].value.set_index("cohort")
            currency = demo_settings.roi.currency
            for cohort, _learners, costs, _benefits, roi_pct in rows:
                assert shows(shown.loc[cohort, "costs"], "costs", costs, currency)
                # the what-if with the published assumptions is the mart's ROI
                assert shows(recomputed.loc[cohort, "roi_pct"], "roi_pct", roi_pct, currency)


def shows(cell: object, column: str, value: float, currency: str) -> bool:
    """A table cell is the figure: a number equal to it, or the text its unit's format gives it
    (a column holding a hidden or missing figure is text throughout)."""
    if isinstance(cell, str):
        return cell == labels.show_column(column, value, currency)
    return cell == pytest.approx(value)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils: run `make chromium`")
def test_the_demo_wrote_the_latest_quarters_report(demo_settings: Settings) -> None:
    quarter, rows = published_roi(demo_settings)
    pdf = demo_settings.home / "demo" / f"roi-{quarter}.pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Learning ROI report — {quarter}" in text
    for cohort, learners, costs, benefits, roi_pct in rows:
        assert report.money(costs) in text and report.money(benefits) in text
        if cohort != demo_settings.baseline_cohort:  # the baseline has no ROI of its own
            assert report.percent(roi_pct) in text
            assert f"{cohort} ({learners} learners)" in text


def test_the_demo_runs_with_the_simulated_organisations_settings(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pilot the simulator wrote is read out on the demo's build
    monkeypatch.setenv("SKILLSTREAM_CONFIG", str(demo_settings.home / "demo" / "settings.toml"))
    readout = json.loads(run_cli(demo_settings, "pilot", "readout", "--json").stdout)
    assert readout["pilot"] == "AI tutor pilot" and readout["metric"] == "completion"
    assert readout["verdict"] in ("scale", "extend", "stop")
    assert readout["difference"] > 0  # planted: 75 % vs 25 % completion
    # the simulated KPI values reached the build: the KPI-linked benefit is not 0
    current, _ = read_status(demo_settings)
    assert current is not None
    con = connect_snapshot(current["snapshot"])
    try:
        kpi_value = dict(
            con.execute(
                "SELECT cohort, sum(kpi_value) FROM marts.roi_quarterly GROUP BY 1"
            ).fetchall()
        )
    finally:
        con.close()
    assert kpi_value["pilot"] > 0 and kpi_value["control"] > 0


def test_the_roi_page_projects_the_demos_pilot_to_the_organisation(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in demo_settings.as_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SKILLSTREAM_CONFIG", str(demo_settings.home / "demo" / "settings.toml"))
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("screens/roi.py").run()
    assert not app.exception, app.exception
    table = next(d.value for d in app.dataframe if "case" in d.value.columns)
    assert list(table["case"]) == ["low", "estimate", "high"]
    assert set(table["annual cost"]) == {500 * 1500.0}
    assert table["benefit"].is_monotonic_increasing  # the band from the effect's interval
    caption = next(c.value for c in app.caption if c.value.startswith("Assumptions:"))
    assert "headcount: 500" in caption and "spend per employee per year: $1,500" in caption
    app.number_input(key="roi_project_headcount").set_value(1000).run()
    table = next(d.value for d in app.dataframe if "case" in d.value.columns)
    assert set(table["annual cost"]) == {1000 * 1500.0}


def test_the_at_risk_list_of_the_demo_names_its_roster(
    demo_settings: Settings, tmp_path: Path
) -> None:
    roster = demo_settings.home / "demo" / "roster.csv"
    out = tmp_path / "at-risk.csv"
    result = run_cli(demo_settings, "report", "at-risk", "--roster", str(roster), "--out", str(out))
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    current, _ = read_status(demo_settings)
    assert current is not None
    con = connect_snapshot(current["snapshot"])
    try:
        ((at_risk,),) = con.execute(
            "SELECT sum(at_risk) FROM marts.at_risk_weekly "
            "WHERE week_start = (SELECT max(week_start) FROM marts.at_risk_weekly)"
        ).fetchall()
    finally:
        con.close()
    # the list is the current week's at-risk learners, those the roster holds by name
    counts = re.search(r"(\d+) of (\d+) at-risk", result.stdout)
    assert counts is not None, result.stdout
    assert int(counts[2]) == at_risk and 0 < int(counts[1]) == len(rows)
    with roster.open(newline="") as handle:
        learners = {row["learner"] for row in csv.DictReader(handle)}
    assert {row["learner"] for row in rows} <= learners


def test_the_users_own_config_wins_over_the_simulated_organisations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKILLSTREAM_CONFIG", raising=False)
    simulated = tmp_path / "home" / "demo" / "settings.toml"
    _use_demo_settings(simulated)
    assert os.environ["SKILLSTREAM_CONFIG"] == str(simulated)
    monkeypatch.setenv("SKILLSTREAM_CONFIG", "/etc/mine.toml")
    _use_demo_settings(simulated)
    assert os.environ["SKILLSTREAM_CONFIG"] == "/etc/mine.toml"
    monkeypatch.delenv("SKILLSTREAM_CONFIG")
    (tmp_path / "skillstream.toml").write_text('baseline_cohort = "control"\n')
    _use_demo_settings(simulated)
    assert "SKILLSTREAM_CONFIG" not in os.environ
    said = capsys.readouterr().out.splitlines()
    assert (
        said[1]
        == f"settings: /etc/mine.toml (yours); the simulated organisation's are in {simulated}"
    )
    assert said[2].startswith("settings: skillstream.toml (yours)")
