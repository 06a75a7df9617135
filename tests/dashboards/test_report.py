"""`skillstream report roi`: the PDF renders (pdftoppm) and its text (pdftotext) carries the
mart's numbers; the XLSX has a sheet per table plus the assumptions; the CSV has every row."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from skillstream import warehouse
from skillstream.dashboards import report
from skillstream.quality.publish import BuildRecord, new_build_id, record_build
from skillstream.settings import Settings
from skillstream.settings import load as load_settings
from tests.conftest import ARTIFACTS, run_cli
from tests.dashboards.conftest import ASSUMPTIONS, P1, P2, QUARTER, ROI

needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: run `make chromium`"
)


def publish_again(settings: Settings) -> None:
    """Publish the warehouse's marts as they are now."""
    now = datetime.now().isoformat()
    record_build(settings, BuildRecord(new_build_id(), now, now, True, True, True))


def pdf_text(path: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


@needs_poppler
def test_pdf_renders_and_carries_the_marts_numbers(
    published_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "roi.pdf"
    result = run_cli(
        published_settings,
        "report",
        "roi",
        "--quarter",
        QUARTER,
        "--format",
        "pdf",
        "--out",
        str(out),
    )
    assert str(out) in result.stdout
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True)
    pages = int(
        next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    )
    assert 2 <= pages <= 4
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(out), str(ARTIFACTS / "roi-report")], check=True
    )
    rendered = sorted(ARTIFACTS.glob("roi-report-*.png"))
    assert len(rendered) >= pages and all(p.stat().st_size > 5_000 for p in rendered[:pages])

    text = pdf_text(out)
    assert f"Learning ROI report — {QUARTER}" in text
    for heading in (
        "Executive summary",
        "Key performance indicators",
        "Cohort comparison",
        "Assumptions",
        "Method notes",
    ):
        assert heading in text
    pilot = ROI[0]  # learners 40, costs 67,440, benefits 96,440, ROI 43.0 %, BCR 1.43, 8.4 months
    for number in ("67,440", "96,440", "29,000", "43.0%", "1.43", "8.4"):
        assert number in text, number
    assert f"pilot: {pilot[0 + 1]} learners" in text
    assert "-100.0%" in text  # control
    assert "25.0%" in text and "72.1%" in text  # completion rates of the KPI table
    for name, value, *_ in ASSUMPTIONS:
        assert name in text.replace("\n", " ") or name[:20] in text, name
        assert value in text, value
    assert "completed / enrolled" in text  # the definitions in the method notes


def test_xlsx_has_a_sheet_per_table_and_the_assumptions(
    published_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "roi.xlsx"
    run_cli(
        published_settings,
        "report",
        "roi",
        "--quarter",
        QUARTER,
        "--format",
        "xlsx",
        "--out",
        str(out),
    )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "roi",
        "outcomes",
        "competency",
        "cohort_comparison",
        "assumptions",
        "about",
    ]
    sheet = book["roi"]
    header = [c.value for c in sheet[1]]
    rows = {
        r[0]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert rows["pilot"]["costs"] == 67440.0 and rows["pilot"]["roi_pct"] == pytest.approx(43.0012)
    names = [r[0] for r in book["assumptions"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(a[0] for a in ASSUMPTIONS)


def test_csv_carries_every_table(published_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "roi.csv"
    run_cli(
        published_settings,
        "report",
        "roi",
        "--quarter",
        QUARTER,
        "--format",
        "csv",
        "--out",
        str(out),
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    tables = {r["table"] for r in rows}
    assert tables == {
        "roi",
        "outcomes",
        "competency",
        "cohort_comparison",
        "assumptions",
    }
    roi = {(r["key"], r["column"]): r["value"] for r in rows if r["table"] == "roi"}
    assert float(roi[("pilot", "benefits")]) == 96440.0


def test_unknown_quarter_is_a_clear_error(published_settings: Settings, tmp_path: Path) -> None:
    result = run_cli(
        published_settings,
        "report",
        "roi",
        "--quarter",
        "2019Q1",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "x.pdf"),
        check=False,
    )
    assert result.returncode == 1
    assert "error: no ROI for quarter 2019Q1" in result.stderr
    assert "quarters with data: 2026Q3" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_before_any_publish(settings: Settings, tmp_path: Path) -> None:
    result = run_cli(
        settings,
        "report",
        "roi",
        "--quarter",
        QUARTER,
        "--out",
        str(tmp_path / "x.pdf"),
        check=False,
    )
    assert result.returncode == 1
    assert "no build has been published yet" in result.stderr


def test_small_groups_are_left_out(published_settings: Settings) -> None:
    loaded = report.load_published(published_settings, QUARTER)
    assert loaded.hidden_groups == 0
    assert set(loaded.roi["cohort"]) == {"pilot", "control"}


def test_the_report_and_the_pages_show_the_same_figures(published_settings: Settings) -> None:
    """For the quarter, the report's KPI tables are the Cohorts page's per-cohort table filtered
    to it, and its ROI the Overview's ROI cards and the ROI page's published table."""
    from tests.dashboards.test_app import run_app, set_filter

    loaded = report.load_published(published_settings, QUARTER)
    app = run_app("cohorts")
    set_filter(app, "quarter", QUARTER)
    page = app.dataframe[0].value.set_index("cohort")
    kpis = loaded.outcomes.merge(loaded.competency, on="cohort", suffixes=("", "_skills"))
    for row in kpis.itertuples():
        for column in ("learners", "enrolments", "completed", "completion_rate"):
            assert page.loc[row.cohort, column] == str(getattr(row, column)), column
        for column in ("mastery_rate", "median_days_to_competency", "retention_30d_rate"):
            assert page.loc[row.cohort, column] == str(getattr(row, column)), column
    # one definition: the median over the cohort's learners who reached competency
    assert page.loc["control", "median_days_to_competency"] == "21.5"

    overview = {m.label: m.value for m in run_app().metric}
    roi_page = run_app("roi").dataframe[0].value.set_index("cohort")
    for row in loaded.roi.itertuples():
        assert roi_page.loc[row.cohort, "roi_pct"] == pytest.approx(row.roi_pct)
        if row.cohort != "control":  # the baseline has no card
            assert overview[f"ROI, {row.cohort}"] == f"{row.roi_pct:.0f} %"


def test_a_small_cohort_is_counted_in_learners_not_enrolments(
    published_settings: Settings,
) -> None:
    """Two learners in three programs are two learners: fewer than k, left out, not "enrolled 6"."""
    con = warehouse.connect(published_settings)
    for i in range(2):
        for program in (P1, P2, P1 + "-advanced"):
            con.execute(
                "INSERT INTO marts.learner_programs VALUES "
                "(?, ?, 'tiny', 'acme', 'team-t', 'analyst', false, ?, now(), true, now(), 1.0)",
                [f"tiny-{i}", program, QUARTER],
            )
    con.execute(
        "INSERT INTO marts.cohort_outcomes SELECT cohort, program_id, quarter, count(*), "
        "count(*), 1.0, 2.0, false FROM marts.learner_programs WHERE cohort = 'tiny' GROUP BY ALL"
    )
    con.close()
    publish_again(published_settings)
    loaded = report.load_published(published_settings, QUARTER)
    assert "tiny" not in set(loaded.outcomes["cohort"])
    assert loaded.hidden_groups >= 1
    rows = list(csv.DictReader(io.StringIO(report.render(loaded, "csv").decode())))
    assert not [r for r in rows if r["key"] == "tiny"]


@needs_poppler
def test_the_method_notes_print_the_settings_in_force(
    published_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLSTREAM_MASTERY_THRESHOLD", "0.75")
    monkeypatch.setenv("SKILLSTREAM_K_ANONYMITY", "6")
    settings = load_settings()
    out = tmp_path / "roi.pdf"
    out.write_bytes(report.render(report.load_published(settings, QUARTER), "pdf"))
    text = " ".join(pdf_text(out).split())
    assert "θ = 0.75 (setting mastery_threshold)" in text
    assert "k = 6, setting k_anonymity" in text
    assert "θ = 0.8" not in text


def test_the_published_comparison_hides_a_side_of_fewer_than_k(
    published_settings: Settings,
) -> None:
    loaded = report.load_published(published_settings, QUARTER)
    rows = loaded.comparison.set_index("metric")
    assert rows.loc["completion_rate", "difference"] == pytest.approx(0.5)
    retention = rows.loc["retention_30d_rate"]
    # one pilot learner not retained, three control learners each way: no rate, no interval
    for column in ("value", "baseline_value", "difference", "ci_low", "ci_high"):
        assert retention[column] == "fewer than 5", column
    assert retention["n"] == 20
    assert "retains" not in report.executive_summary(loaded)
