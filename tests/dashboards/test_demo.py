"""On a real demo warehouse: every page renders with real numbers, the ROI page's what-if gives
the mart's numbers back, and the report the demo wrote carries the mart's numbers."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from skillstream.dashboards import report
from skillstream.quality.publish import read_status
from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.dashboards.test_app import APP

pytestmark = pytest.mark.integration

PAGES = (
    "overview",
    "cohorts",
    "capability",
    "engagement",
    "content",
    "roi",
    "quality",
    "health",
    "definitions",
)


def published_roi(settings: Settings) -> tuple[str, list[tuple]]:
    current, _ = read_status(settings)
    assert current is not None
    con = duckdb.connect(current["snapshot"], read_only=True)
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
    for page in PAGES:
        app = AppTest.from_file(APP, default_timeout=120)
        app.run()
        app.switch_page(f"pages/{page}.py").run()
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
        if page == "roi":
            _, rows = published_roi(demo_settings)
            shown = app.dataframe[0].value.set_index("cohort")
            recomputed = app.dataframe[2].value.set_index("cohort")
            for cohort, _learners, costs, _benefits, roi_pct in rows:
                assert shown.loc[cohort, "costs"] == pytest.approx(costs)
                # the what-if with the published assumptions is the mart's ROI
                assert recomputed.loc[cohort, "roi_pct"] == pytest.approx(roi_pct)


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
    con = duckdb.connect(current["snapshot"], read_only=True)
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
