"""`skillstream report roi`: the PDF renders (pdftoppm) and its text (pdftotext) carries the
mart's numbers; the XLSX has a sheet per table plus the assumptions; the CSV has every row."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from skillstream import pilot, warehouse
from skillstream.dashboards import labels, report
from skillstream.dashboards.suppression import Privacy
from skillstream.quality.publish import (
    BuildRecord,
    connect_snapshot,
    new_build_id,
    read_status,
    record_build,
)
from skillstream.settings import Settings
from skillstream.settings import load as load_settings
from tests.conftest import ARTIFACTS, run_cli
from tests.dashboards.conftest import (
    ASSUMPTIONS,
    P1,
    P2,
    QUARTER,
    publish_simulated,
    simulated_organisation,
)
from tests.skillstream.pilot_org import pilots_config, publish_org

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
    assert 3 <= pages <= 6  # the decision, the detail, the appendix
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(out), str(ARTIFACTS / "roi-report")], check=True
    )
    rendered = sorted(ARTIFACTS.glob("roi-report-*.png"))
    assert len(rendered) >= pages and all(p.stat().st_size > 5_000 for p in rendered[:pages])

    text = pdf_text(out)
    assert f"Learning ROI report — {QUARTER}" in text
    for heading in (
        "The decision",
        "The assumptions that move ROI most",
        "ROI by cohort",
        "Outcomes",
        "Cohort comparison",
        "KPI links",
        "Every assumption",
        "Method notes",
        "Data quality of this build",
        "Privacy: the k rule",
    ):
        assert heading in text, heading
    # learners 40, costs 67,440, benefits 96,440, net 29,000, ROI 43.0 %, BCR 1.43, 8.4 months
    for number in ("$67,440", "$96,440", "$29,000", "43.0 %", "1.43", "8.4"):
        assert number in text, number
    assert "pilot (40 learners)" in text
    # the baseline is the baseline, not a loss
    assert "control (baseline)" in text and "-100" not in text and "−100" not in text
    assert "25.0 %" in text and "72.1 %" in text  # completion rates of the outcomes table
    flat = " ".join(text.split())
    for name, *_ in ASSUMPTIONS:
        assert labels.assumption_label(name) in flat, name
    # amounts in the currency with its symbol, cents only where they are
    for value in ("$1,500", "$60", "$250", "$2.50", "12", "control"):
        assert value in text, value
    # differences as a reader says them: rates in points, medians in days sooner
    assert "+50.0 points" in flat and "+29.0 to +65.0" in flat
    assert "10.0 days sooner" in flat and "8.0 to 12.0 sooner" in flat
    assert "quality gate (dbt tests and Great Expectations) passed" in flat
    assert "completed / enrolled" in text  # the definitions in the appendix


def body(text: str) -> str:
    """The report before its appendix, where raw identifiers are allowed."""
    return text.split("Appendix: identifiers")[0]


def mart_columns(settings: Settings) -> set[str]:
    current, _ = read_status(settings)
    con = connect_snapshot(current["snapshot"])
    try:
        rows = con.execute(
            "SELECT DISTINCT column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts'"
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows if "_" in r[0]}


def assert_reads_as_a_report(settings: Settings, text: str) -> None:
    """No column or assumption name outside the appendix; no figure rounded finer than its unit
    allows (money whole, percentages one decimal, nothing with three decimals)."""
    shown = body(" ".join(text.split()))
    names = mart_columns(settings) | {a[0] for a in ASSUMPTIONS}
    leaked = {n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", shown)}
    assert not leaked, leaked
    assert not re.findall(r"\d\.\d{3,}", shown)
    # money in whole units; cents only on a small per-unit amount ("$2.50 per unit")
    assert not re.findall(r"\$(?:\d{1,3}(?:,\d{3})+|\d{3,})\.\d", shown)
    assert not re.findall(r"\$[\d,]+\.(?:\d|\d{3,})\b", shown)
    assert not re.findall(r"\d\.\d{2,} ?%", shown)
    assert not re.findall(r"\b(?:None|nan|NaN)\b", shown)


@needs_poppler
def test_the_report_reads_as_a_report(published_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "roi.pdf"
    out.write_bytes(report.render(report.load_published(published_settings, QUARTER), "pdf"))
    assert_reads_as_a_report(published_settings, pdf_text(out))


@needs_poppler
def test_a_simulated_organisation_s_report_reads_as_a_report(
    settings: Settings, tmp_path: Path
) -> None:
    """Many cohorts, small groups hidden, no comparison mart: still no identifier, no raw float."""
    publish_simulated(settings, simulated_organisation())
    out = tmp_path / "roi.pdf"
    loaded = report.load_published(settings, "2026Q3")
    out.write_bytes(report.render(loaded, "pdf"))
    text = pdf_text(out)
    assert_reads_as_a_report(settings, text)
    assert "control (baseline)" in text
    assert "pilot-b" in body(text)


@needs_poppler
def test_the_first_page_is_the_decision_with_the_marts_figures(
    published_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "roi.pdf"
    out.write_bytes(report.render(report.load_published(published_settings, QUARTER), "pdf"))
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(out), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first = " ".join(first.split())
    current, _ = read_status(published_settings)
    con = connect_snapshot(current["snapshot"])
    (roi_pct, payback, costs, benefits), *_ = con.execute(
        "SELECT roi_pct, payback_months, costs, benefits FROM marts.roi_quarterly "
        "WHERE quarter = ? AND cohort = 'pilot'",
        [QUARTER],
    ).fetchall()
    con.close()
    assert f"ROI {roi_pct:.1f} %" in first  # 43.0 %
    assert f"pays back in {payback:.1f} months" in first  # 8.4
    assert f"costs ${costs:,.0f}, benefits ${benefits:,.0f}" in first
    # the comparison's lifts in plain words, intervals as a reader says them
    assert "pilot completes 50 points more on p1 than control (95 % interval 29–65)" in first
    assert (
        "pilot reaches competency in data-analysis 10.0 days sooner than control "
        "(95 % interval 8.0 to 12.0 days sooner)" in first
    )
    assert "Verdict: it pays back and its gains are clear of chance" in first
    # the three assumptions that move ROI most, by the sensitivity (each moved ±50 %)
    assert first.count("halved, ROI of pilot would be") == 3
    assert "Value of a day sooner at competency ($250 per day): halved" in first
    assert "Every assumption" not in first  # the detail starts on page 2


@needs_poppler
def test_the_seat_time_coverage_is_printed(published_settings: Settings, tmp_path: Path) -> None:
    con = warehouse.connect(published_settings)
    con.execute("ALTER TABLE marts.roi_quarterly ADD COLUMN learners_with_seat_time BIGINT")
    con.execute("ALTER TABLE marts.roi_quarterly ADD COLUMN seat_time_coverage DOUBLE")
    con.execute(
        "UPDATE marts.roi_quarterly SET learners_with_seat_time = learners - 4, "
        "seat_time_coverage = (learners - 4) / learners"
    )
    con.close()
    publish_again(published_settings)
    out = tmp_path / "roi.pdf"
    out.write_bytes(report.render(report.load_published(published_settings, QUARTER), "pdf"))
    text = " ".join(pdf_text(out).split())
    assert (
        "Seat time is known for 88.9 % of control's learners (32); 90.0 % of pilot's learners "
        "(36): the seat-time cost and saving stand on those learners." in text
    )


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
        "Summary",
        "ROI by cohort",
        "Outcomes",
        "Capability",
        "Cohort comparison",
        "Assumptions",
        "About",
    ]
    summary = [r[0] for r in book["Summary"].iter_rows(min_row=2, values_only=True)]
    assert "pilot (40 learners) against the baseline control: ROI 43.0 %" in summary[1]
    assert any(line.startswith("Verdict:") for line in summary)
    sheet = book["ROI by cohort"]
    header = [c.value for c in sheet[1]]
    assert header[:8] == [
        "Cohort",
        "Learners",
        "Costs",
        "Benefits",
        "Net benefit",
        "ROI",
        "Benefit–cost ratio",
        "Payback (months)",
    ]
    rows = {r[0].value: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2)}
    pilot = rows["pilot"]
    # the cells keep the marts' values; the number formats show them as the PDF does
    assert pilot["Costs"].value == 67440.0 and pilot["ROI"].value == pytest.approx(43.0012)
    assert pilot["Costs"].number_format == '"$"#,##0;-"$"#,##0'
    assert pilot["ROI"].number_format == '0.0" %"'
    assert pilot["Benefit–cost ratio"].number_format == "0.00"
    assert pilot["Payback (months)"].number_format == "#,##0.0"
    assert pilot["Learners"].number_format == "#,##0"
    outcomes = book["Outcomes"]
    assert outcomes["E1"].value == "Completion rate" and outcomes["E2"].number_format == "0.0%"
    for name in book.sheetnames:
        assert book[name].freeze_panes == "A2", name
    assert sheet.column_dimensions["G"].width >= len("Benefit–cost ratio")
    compared = book["Cohort comparison"]
    header = [c.value for c in compared[1]]
    assert len(set(header)) == len(header) and "metric" not in header
    rows = {r[3].value: dict(zip(header, r, strict=True)) for r in compared.iter_rows(min_row=2)}
    # each row's values in its measure's unit
    assert rows["Completion rate"]["Cohort value"].number_format == "0.0%"
    assert rows["Median days to competency"]["Difference"].number_format == "#,##0.0"
    names = [r[0] for r in book["Assumptions"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(labels.assumption_label(a[0]) for a in ASSUMPTIONS)


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
        for column in (
            "learners",
            "enrolments",
            "completed",
            "completion_rate",
            "mastery_rate",
            "median_days_to_competency",
            "retention_30d_rate",
        ):
            shown = labels.show_column(column, getattr(row, column))
            assert str(page.loc[row.cohort, column]) in (shown, str(getattr(row, column))), column
    # one definition: the median over the cohort's learners who reached competency
    assert page.loc["control", "median_days_to_competency"] == "21.5"

    overview = {m.label: m.value for m in run_app().metric}
    roi_page = run_app("roi").dataframe[0].value.set_index("cohort")
    for row in loaded.roi.itertuples():
        assert roi_page.loc[row.cohort, "roi_pct"] == (
            "baseline" if row.cohort == loaded.baseline else labels.show(row.roi_pct, "percent")
        )
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
    assert not [line for line in report.headline(loaded) if "retains" in line]


# ---- the pilot: readout, verdict rules, projection (tests/skillstream/pilot_org.py) ------------

PILOTS = pilots_config({"pilot": "support completes", "trio": "trio"})


@pytest.fixture
def pilot_settings(
    published_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The hand-made ROI marts with the planted organisation's learners and KPI effects (pilot
    +40 points of completion, 80 % against 40 %; trio of 3 learners) and both pilots configured."""
    publish_org(published_settings)
    config = tmp_path / "skillstream.toml"
    config.write_text(PILOTS)
    monkeypatch.setenv("SKILLSTREAM_CONFIG", str(config))
    return load_settings()


def expected_projection(settings: Settings) -> pilot.Projection:
    """The projection as pilot.projection_of gives it, with the [roi] projection settings."""
    result = pilot.readout(
        pilot.published_build(settings), settings.pilots[0], Privacy(5), settings.comparison_seed
    )
    return pilot.projection_of(
        result,
        settings.roi.projection_headcount,
        settings.roi.projection_spend_per_employee,
        pilot.default_unit_value(result, settings.roi),
        settings.roi.currency,
        pilot.kpi_value_of(pilot.published_build(settings), result, settings.roi, 5),
    )


@needs_poppler
def test_the_pdf_carries_the_pilot_readout_and_its_projection(
    pilot_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "roi.pdf"
    out.write_bytes(report.render(report.load_published(pilot_settings, QUARTER), "pdf"))
    text = pdf_text(out)
    assert_reads_as_a_report(pilot_settings, text)
    flat = " ".join(body(text).split())
    assert "Pilot readout and projection" in flat
    assert "support completes: pilot against control, completion rate" in flat
    assert "+40.0 points" in flat and "SCALE" in flat  # 80 % against 40 %
    # the verdict rules written out
    for rule in pilot.VERDICT_RULES:
        assert " ".join(rule.split()) in flat, rule
    # the projection's figures are pilot.projection_of's: 500 x $1,500, +0.4 x 500 x $7,500
    expected = expected_projection(pilot_settings)
    assert expected.annual_cost == 750_000 and expected.estimate.benefit == pytest.approx(1.5e6)
    assert "500 employees at $1,500 each a year, an annual cost of $750,000" in flat
    for case in (expected.low, expected.estimate, expected.high):
        row = (
            f"$750,000 {labels.show(case.benefit, 'money')} "
            f"{labels.show(case.roi_pct, 'percent')} {labels.show(case.payback_months, 'months')}"
        )
        assert row in flat, row
    for name, value in expected.assumptions.items():
        assert f"{name}: {value}" in flat, name
    # a readout under k names only the rule: no figure, no verdict, no projection
    trio = flat[flat.index("trio (trio vs control") :].split(".")[0]
    assert "not shown, fewer than 5 learners on a side" in trio


def test_the_projection_inputs_come_from_the_settings(
    pilot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLSTREAM_ROI_PROJECTION_HEADCOUNT", "2000")
    monkeypatch.setenv("SKILLSTREAM_ROI_PROJECTION_SPEND_PER_EMPLOYEE", "1000")
    settings = load_settings()
    projection = report.load_published(settings, QUARTER).pilots[0].projection
    assert projection is not None
    assert (projection.headcount, projection.annual_cost) == (2000, 2_000_000)
    assert projection == expected_projection(settings)


def test_the_xlsx_has_formatted_pilot_and_kpi_sheets(pilot_settings: Settings) -> None:
    loaded = report.load_published(pilot_settings, QUARTER)
    book = openpyxl.load_workbook(io.BytesIO(report.render(loaded, "xlsx")))
    assert {"Pilot", "Pilot projection", "KPI links"} <= set(book.sheetnames)
    sheet = book["Pilot"]
    header = [c.value for c in sheet[1]]
    rows = {r[0].value: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2)}
    shown = rows["support completes"]
    assert shown["Pilot value"].value == pytest.approx(0.8)
    assert shown["Pilot value"].number_format == "0.0%"
    assert shown["Difference"].value == pytest.approx(0.4)
    assert shown["Verdict"].value == "scale" and shown["Powered (80 %)"].value == "yes"
    assert rows["trio"]["Pilot value"].value == "fewer than 5 learners on a side"
    assert sheet.freeze_panes == "A2"
    projected = book["Pilot projection"]
    header = [c.value for c in projected[1]]
    cases = {r[1].value: dict(zip(header, r, strict=True)) for r in projected.iter_rows(min_row=2)}
    expected = expected_projection(pilot_settings)
    assert set(cases) == {"low", "estimate", "high"}  # the hidden trio is not projected
    estimate = cases["estimate"]
    assert estimate["Annual cost"].value == expected.annual_cost
    assert estimate["Annual cost"].number_format == '"$"#,##0;-"$"#,##0'
    assert estimate["ROI"].value == pytest.approx(expected.estimate.roi_pct)
    assert estimate["ROI"].number_format == '0.0" %"'
    assert cases["low"]["Benefit"].value == pytest.approx(expected.low.benefit)
    kpis = book["KPI links"]
    header = [c.value for c in kpis[1]]
    assert header[:3] == ["KPI", "Quarter", "Cohort"] and "Difference in differences" in header
    link = dict(zip(header, kpis[2], strict=True))
    assert (link["Cohort"].value, link["Difference in differences"].value) == ("pilot", 3.0)
    assert link["Learners"].number_format == "#,##0" and kpis.max_row == 2  # trio under k


def test_the_csv_carries_the_pilot_and_the_kpi_links(pilot_settings: Settings) -> None:
    loaded = report.load_published(pilot_settings, QUARTER)
    rows = list(csv.DictReader(io.StringIO(report.render(loaded, "csv").decode())))
    values = {(r["table"], r["key"], r["column"]): r["value"] for r in rows}
    expected = expected_projection(pilot_settings)
    assert values[("pilot", "support completes", "verdict")] == "scale"
    assert float(values[("pilot", "support completes", "difference")]) == pytest.approx(0.4)
    assert float(values[("pilot", "support completes", "annual_cost")]) == expected.annual_cost
    for case in ("low", "estimate", "high"):
        figures_of = getattr(expected, case)
        assert float(values[("pilot", "support completes", f"roi_pct_{case}")]) == pytest.approx(
            figures_of.roi_pct
        )
        assert float(values[("pilot", "support completes", f"benefit_{case}")]) == pytest.approx(
            figures_of.benefit
        )
    assert values[("pilot_assumptions", "support completes", "headcount")] == "500"
    assert values[("pilot", "trio", "hidden")] == "fewer than 5 learners on a side"
    trio = {k[2] for k in values if k[:2] == ("pilot", "trio")}
    assert trio == {"metric", "lift", "window_end", "is_complete", "hidden"}
    assert float(values[("kpi_effects", "tickets:pilot", "did")]) == 3.0
    assert not [k for k in values if k[0] == "kpi_effects" and k[1] == "tickets:trio"]


@pytest.mark.integration
@needs_poppler
def test_the_demo_s_pilot_pays_back_believably_and_page_1_says_so(
    demo_settings: Settings, tmp_path: Path
) -> None:
    """The simulated KPI effect is a few per cent, so the demo's pilot ROI is one an executive
    would believe (50 to 200 %), and the first page of its report leads with it; the report
    carries the simulated pilot's readout and projection."""
    quarter = report.latest_quarter(demo_settings)
    assert quarter is not None
    loaded = report.load_published(demo_settings, quarter)
    pilot_roi = float(loaded.roi.set_index("cohort").loc["pilot", "roi_pct"])
    assert 50 <= pilot_roi <= 200, pilot_roi
    out = tmp_path / "demo.pdf"
    out.write_bytes(report.render(loaded, "pdf"))
    first = " ".join(
        subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(out), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    assert f"ROI {pilot_roi:.1f} %" in first and "Verdict:" in first
    assert_reads_as_a_report(demo_settings, pdf_text(out))
    (case,) = loaded.pilots
    assert case.readout.shown and case.projection is not None
    assert "AI tutor pilot" in " ".join(pdf_text(out).split())
