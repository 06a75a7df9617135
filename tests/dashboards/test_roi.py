"""The what-if ROI: the mart's numbers back with the published assumptions, linear changes."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest, app_test

from skillstream.dashboards.roi import RoiComponents, compute_roi, sensitivity
from skillstream.settings import Settings
from tests.dashboards.test_app import run_app

PUBLISHED = {
    "programme_cost_per_learner": 1500.0,
    "loaded_hourly_cost": 60.0,
    "value_of_competent_day": 250.0,
    "benefit_period_months": 12.0,
    "kpi_value:tickets_closed": 2.5,
}
PILOT = RoiComponents("pilot", 40, 60000.0, 7440.0, -2640.0, 97080.0, 2000.0)


def test_published_assumptions_give_the_marts_numbers() -> None:
    result = compute_roi(PILOT, PUBLISHED, PUBLISHED)
    assert (result.costs, result.benefits) == (67440.0, 96440.0)
    assert result.roi_pct == pytest.approx(29000 / 67440 * 100)
    assert result.bcr == pytest.approx(96440 / 67440)
    assert result.payback_months == pytest.approx(67440 / (96440 / 12))


def test_each_assumption_moves_its_own_component() -> None:
    doubled_hourly = compute_roi(PILOT, PUBLISHED, {"loaded_hourly_cost": 120.0})
    assert doubled_hourly.costs == 60000 + 2 * 7440
    assert doubled_hourly.benefits == 2 * -2640 + 97080 + 2000
    half_day = compute_roi(PILOT, PUBLISHED, {"value_of_competent_day": 125.0})
    assert half_day.benefits == -2640 + 97080 / 2 + 2000
    longer = compute_roi(PILOT, PUBLISHED, {"benefit_period_months": 24.0})
    assert longer.benefits == -2640 + 97080 + 4000  # KPI gains accrue over the period
    assert longer.payback_months == pytest.approx(67440 / ((-2640 + 97080 + 4000) / 24))


def test_no_benefit_means_no_payback() -> None:
    control = RoiComponents("control", 36, 54000.0, 4800.0, 0.0, 0.0, 0.0)
    result = compute_roi(control, PUBLISHED, PUBLISHED)
    assert result.roi_pct == -100.0
    assert result.payback_months is None


def test_sensitivity_moves_one_assumption_at_a_time() -> None:
    bars = {name: (low, high) for name, low, high in sensitivity(PILOT, PUBLISHED, PUBLISHED)}
    assert set(bars) == set(PUBLISHED)
    low, high = bars["programme_cost_per_learner"]
    assert low == pytest.approx((96440 - 37440) / 37440 * 100)
    assert high == pytest.approx((96440 - 97440) / 97440 * 100)


# ---- the ROI page's downloads carry the scenario shown ------------------------------------------


def page_downloads(published_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The ROI page; its download buttons' files are generated on click, by the media file
    manager of the run, which this keeps."""
    managers: list[MediaFileManager] = []

    class Kept(MediaFileManager):
        def __init__(self, storage: Any) -> None:
            super().__init__(storage)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Kept)
    app = run_app("roi")
    app.downloads = lambda: downloaded(app, managers[-1])  # type: ignore[attr-defined]
    return app


def downloaded(app: AppTest, manager: MediaFileManager) -> dict[str, tuple[str, bytes]]:
    """Each download button's (file name, bytes), as a click would get them."""
    files = {}
    for button in app.get("download_button"):
        url = manager.execute_deferred(button.proto.deferred_file_id)
        stored = manager._storage.get_file(url.rsplit("/", 1)[-1])  # type: ignore[attr-defined]
        files[button.proto.label] = (stored.filename, bytes(stored.content))
    return files


def test_the_downloads_carry_the_edited_assumption_as_a_scenario(
    published_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = page_downloads(published_settings, monkeypatch)
    published = app.downloads()  # type: ignore[attr-defined]
    assert published["Download CSV"][0] == "skillstream-roi-2026Q3.csv"
    assert "scenario" not in published["Download CSV"][1].decode()

    app.number_input(key="assumption_value_of_competent_day").set_value(400.0).run()
    assert not app.exception, app.exception
    files = app.downloads()  # type: ignore[attr-defined]
    name, data = files["Download CSV"]
    assert name == "skillstream-roi-2026Q3-scenario.csv"
    rows = {
        (r["table"], r["key"], r["column"]): r["value"]
        for r in csv.DictReader(io.StringIO(data.decode()))
    }
    assert rows[("scenario_assumptions", "value_of_competent_day", "published")] == "250.0"
    assert rows[("scenario_assumptions", "value_of_competent_day", "scenario")] == "400.0"
    # the scenario's ROI is the page's, and the published one stands beside it
    expected = compute_roi(PILOT, PUBLISHED, {"value_of_competent_day": 400.0})
    assert float(rows[("scenario_roi", "pilot", "roi_pct")]) == pytest.approx(expected.roi_pct)
    page = app.dataframe[2].value.set_index("cohort")  # "ROI with these assumptions"
    assert page.loc["pilot", "roi_pct"] == pytest.approx(expected.roi_pct)
    assert float(rows[("roi", "pilot", "roi_pct")]) == pytest.approx(43.0012)

    book = openpyxl.load_workbook(io.BytesIO(files["Download XLSX"][1]))
    scenario = [r for r in book["Scenario"].iter_rows(min_row=2, values_only=True)]
    assert ("assumption", "Value of a day sooner at competency", 250.0, 400.0) in [
        r[1:] for r in scenario
    ]
    assert ("ROI %", "pilot") in [r[1:3] for r in scenario]

    if shutil.which("pdftotext"):
        pdf = tmp_path / "scenario.pdf"
        pdf.write_bytes(files["Download PDF"][1])
        text = " ".join(
            subprocess.run(
                ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout.split()
        )
        assert "Scenario (assumptions edited on the ROI page)" in text
        assert "Value of a day sooner at competency $250 → $400" in text
        assert f"43.0 % {expected.roi_pct:.1f} %" in text  # ROI published, then the scenario's
