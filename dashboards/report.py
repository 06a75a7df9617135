"""The quarterly ROI report for executives: PDF, CSV or XLSX from the published marts.

`skillstream report roi` and the ROI page's download buttons both call `render`, so they
give the same files. Every number comes from the published snapshot; groups under k learners
are left out, as on the dashboard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from skillstream import pilot, warehouse
from skillstream.dashboards import definitions, figures, labels, roi, verdicts, views
from skillstream.dashboards.suppression import Privacy
from skillstream.quality.publish import open_snapshot, read_status
from skillstream.settings import Settings

FORMATS = ("pdf", "csv", "xlsx")


class ReportError(ValueError):
    """A report that cannot be made, with what to do about it."""


@dataclass(frozen=True)
class BuildQuality:
    """What the build stands on: the statements landed, how many were quarantined, the newest
    event it includes and the quality gate's result (quality.runs and the published record)."""

    statements: int | None
    quarantined: int | None
    newest_event_at: str | None
    gate_success: bool | None
    unreadable: str = ""  # why the counts could not be read, when they could not

    def sentences(self) -> list[str]:
        gate = {True: "passed", False: "failed", None: "did not run"}[self.gate_success]
        lines = [f"The quality gate (dbt tests and Great Expectations) {gate} on this build."]
        if self.statements is None:
            lines.append(f"Statement counts cannot be read: {self.unreadable}.")
        else:
            received = self.statements + (self.quarantined or 0)
            share = (self.quarantined or 0) / received if received else 0.0
            lines.append(
                f"{self.statements:,} statements landed; {self.quarantined or 0:,} were "
                f"quarantined ({share * 100:.1f} % of those received)."
            )
        lines.append(
            f"The newest statement included happened at {_minute(self.newest_event_at)} UTC."
            if self.newest_event_at
            else "No statement time is recorded for this build."
        )
        return lines


def _minute(timestamp: str) -> str:
    return str(timestamp).replace("T", " ")[:16]


@dataclass(frozen=True)
class RoiReport:
    """The report's tables, as the dashboard shows them: figures resting on fewer than k learners
    read "fewer than k", groups under k are left out (suppression.py)."""

    quarter: str
    build_id: str
    built_at: str
    k: int
    roi: pd.DataFrame  # marts.roi_quarterly of the quarter, per cohort
    outcomes: pd.DataFrame  # per cohort: learners, enrolments, completion, seat time
    competency: pd.DataFrame  # per cohort: mastery, days to competency, 30-day retention
    comparison: pd.DataFrame  # marts.cohort_comparison (all time)
    assumptions: pd.DataFrame  # marts.roi_assumptions
    hidden_groups: int
    preamble: str  # the definitions' preamble with this build's settings
    baseline: str = ""  # the cohort the others are compared against
    currency: str = "USD"
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)  # seat-time coverage per cohort
    kpi_effects: pd.DataFrame = field(default_factory=pd.DataFrame)  # the quarter's KPI links
    quality: BuildQuality | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "roi": self.roi,
            "outcomes": self.outcomes,
            "competency": self.competency,
            "cohort_comparison": self.comparison,
        }

    def money(self, value: Any) -> str:
        return labels.show(value, "money", self.currency)

    def invested(self) -> pd.DataFrame:
        """The cohorts with an investment case: every shown cohort but the baseline."""
        return self.roi[self.roi["cohort"] != self.baseline]


REQUIRED = ("roi_quarterly", "roi_assumptions", "learner_programs", "learner_skills")
OUTCOMES = ["cohort", "learners", "enrolments", "completed", "completion_rate", "seat_time_hours"]
COMPETENCY = [
    "cohort",
    "learners",
    "mastered",
    "mastery_rate",
    "median_days_to_competency",
    "retention_checked",
    "retention_30d_rate",
]


def load(
    snapshot: Path,
    quarter: str,
    build_id: str,
    built_at: str,
    settings: Settings,
    quality: BuildQuality | None = None,
) -> RoiReport:
    """The report's tables, read from a published snapshot by the queries and the k rule of the
    dashboard's pages (views.py): the Cohorts page filtered to the quarter shows the same."""
    build = figures.Published(build_id, built_at, snapshot, build_id, True, [])
    privacy = Privacy.from_settings(settings)
    missing = figures.missing_tables(build, *REQUIRED)
    if missing:
        raise ReportError(
            f"the published build {build_id} has no "
            f"{', '.join('marts.' + t for t in missing)}; "
            "run `skillstream build` with this version of skillstream"
        )
    quarters = figures.quarters(build)
    if quarter not in quarters:
        raise ReportError(
            f"no ROI for quarter {quarter} in build {build_id}; quarters with data: "
            f"{', '.join(quarters) or 'none'}"
        )
    roi = views.roi(build, quarter, privacy)
    cohorts = views.cohorts(build, figures.Filters({"quarter": (quarter,)}), privacy)
    comparison = (
        views.comparison(build, privacy).table()
        if not figures.missing_tables(build, "cohort_comparison")
        else pd.DataFrame(columns=["metric"])
    )
    assumptions = figures.roi_assumptions(build)
    shown_roi = roi.table()
    kpi_effects = (
        pilot.kpi_effects(build, privacy.k).table().query("quarter == @quarter")
        if not figures.missing_tables(build, "kpi_effects")
        else pd.DataFrame()
    )
    return RoiReport(
        quarter=quarter,
        build_id=build_id,
        built_at=built_at,
        k=privacy.k,
        roi=shown_roi[["cohort", *(f.column for f in figures.ROI_FIGURES)]],
        outcomes=cohorts.programs.table()[OUTCOMES],
        competency=cohorts.skills.table()[COMPETENCY],
        comparison=comparison,
        assumptions=assumptions,
        hidden_groups=roi.hidden_groups
        + cohorts.programs.hidden_groups
        + cohorts.skills.hidden_groups,
        preamble=definitions.preamble(settings),
        baseline=_baseline(assumptions, settings),
        currency=settings.roi.currency,
        coverage=_seat_time_coverage(build, quarter, list(shown_roi["cohort"])),
        kpi_effects=kpi_effects,
        quality=quality,
    )


def _seat_time_coverage(build: figures.Published, quarter: str, cohorts: list[str]) -> pd.DataFrame:
    """Per cohort of `cohorts` (those the k rule shows), the share of its learners the seat-time
    figures stand on; empty when the build predates the column."""
    columns = figures.query(
        build,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND table_name = 'roi_quarterly'",
    )
    if "seat_time_coverage" not in set(columns["column_name"]) or not cohorts:
        return pd.DataFrame(columns=["cohort", "learners_with_seat_time", "seat_time_coverage"])
    marks = ", ".join("?" * len(cohorts))
    return figures.query(
        build,
        "SELECT cohort, learners_with_seat_time, seat_time_coverage FROM marts.roi_quarterly "
        f"WHERE quarter = ? AND cohort IN ({marks}) ORDER BY cohort",
        [quarter, *cohorts],
    )


def _baseline(assumptions: pd.DataFrame, settings: Settings) -> str:
    """The baseline the build's ROI used (its assumptions), else the setting in force."""
    named = assumptions.loc[assumptions["name"] == "baseline_cohort", "value"]
    return str(named.iloc[0]) if len(named) else settings.baseline_cohort


# ---- formatting, shared by the PDF and the tests that read it back ----------------------------


def money(value: float | str | None, currency: str = "USD") -> str:
    return labels.show(value, "money", currency)


def percent(value: float | str | None) -> str:
    return labels.show(value, "percent")


def _number(value: Any) -> float | None:
    """A figure the k rule left shown, as a number; None when hidden or missing."""
    if isinstance(value, str) or labels.missing(value):
        return None
    return float(value)


# ---- the decision: headline, verdict, the assumptions that move ROI most ---------------------


def lift_sentence(row: Any) -> str | None:
    """A comparison row in plain words, or None when the k rule hid a side."""
    difference, low, high = (_number(v) for v in (row.difference, row.ci_low, row.ci_high))
    if difference is None or low is None or high is None:
        return None
    subject = str(row.subject_id).rstrip("/").rsplit("/", 1)[-1]
    metric = str(row.metric)
    if "days" in metric:
        direction = "sooner" if difference <= 0 else "later"
        near, far = sorted((abs(low), abs(high)))
        same_sign = low * high > 0
        interval = (
            f"95 % interval {near:.1f} to {far:.1f} days {direction}"
            if same_sign
            else f"95 % interval {low:+.1f} to {high:+.1f} days"
        )
        sentence = (
            f"{row.cohort} reaches competency in {subject} {abs(difference):.1f} days "
            f"{direction} than {row.baseline_cohort} ({interval})"
        )
        unclear = not same_sign
    else:
        verb = {"retention_30d_rate": "retains", "mastery_rate": "masters"}.get(metric, "completes")
        sentence = verdicts.completion_verdict(
            str(row.cohort), str(row.baseline_cohort), difference, low, high, verb=verb
        )
        sentence = sentence.replace(" than ", f" on {subject} than ", 1)
        return sentence.replace("95 % CI", "95 % interval") + "."
    if unclear:
        sentence += f"; the data cannot tell it apart from {row.baseline_cohort}"
    return sentence + "."


def _clear_gain(row: Any) -> bool:
    low, high = _number(row.ci_low), _number(row.ci_high)
    if low is None or high is None:
        return False
    return high < 0 if "days" in str(row.metric) else low > 0


def verdict(report: RoiReport, cohort: str, roi_pct: float | None) -> str:
    rows = report.comparison[report.comparison.get("cohort", pd.Series(dtype=str)) == cohort]
    clear = any(_clear_gain(r) for r in rows.itertuples())
    if roi_pct is None:
        return "Verdict: no ROI can be shown for this cohort."
    if roi_pct > 0 and clear:
        return "Verdict: it pays back and its gains are clear of chance: worth scaling up."
    if roi_pct > 0:
        return "Verdict: it pays back on these assumptions, but no gain is yet clear of chance."
    return "Verdict: it does not pay back on these assumptions."


def headline(report: RoiReport) -> list[str]:
    """Page 1's paragraphs: per invested cohort its ROI, its lifts in plain words, its verdict."""
    lines = []
    for row in report.invested().itertuples():
        roi_pct, payback = _number(row.roi_pct), _number(row.payback_months)
        pays = (
            f"pays back in {labels.show(payback, 'months')} months"
            if payback is not None
            else "does not pay back within the benefit period"
        )
        lines.append(
            f"{row.cohort} ({labels.show(row.learners, 'count')} learners) against the baseline "
            f"{report.baseline}: ROI {labels.show(row.roi_pct, 'percent')}, {pays}; costs "
            f"{report.money(row.costs)}, benefits {report.money(row.benefits)}."
        )
        comparison = report.comparison
        if "cohort" in comparison:
            for lift in comparison[comparison["cohort"] == row.cohort].itertuples():
                sentence = lift_sentence(lift)
                if sentence:
                    lines.append(sentence)
        lines.append(verdict(report, row.cohort, roi_pct))
    if not lines:
        lines.append(
            f"No cohort other than the baseline {report.baseline} has at least {report.k} "
            "learners this quarter, so there is no investment case to show."
        )
    return lines


def movers(report: RoiReport, count: int = 3) -> list[str]:
    """The assumptions that move ROI most (each moved ±50 % alone), each as a sentence."""
    invested = report.invested()
    numeric = invested[pd.to_numeric(invested["roi_pct"], errors="coerce").notna()]
    if numeric.empty:
        return []
    subject = numeric.sort_values("learners", ascending=False).iloc[:1]
    components = figures.roi_components(subject)[0]
    published = {
        r.name: float(r.numeric_value)
        for r in report.assumptions.itertuples()
        if not labels.missing(r.numeric_value)
    }
    bars = [
        (name, low, high)
        for name, low, high in roi.sensitivity(components, published, {})
        if low is not None and high is not None
    ]
    bars.sort(key=lambda bar: abs(bar[2] - bar[1]), reverse=True)
    units = dict(zip(report.assumptions["name"], report.assumptions["unit"], strict=True))
    sentences = []
    for name, low, high in bars[:count]:
        shown = assumption_value(report, published[name], published[name], units.get(name))
        sentences.append(
            f"{labels.assumption_label(name)} ({shown} {unit_words(units.get(name))}): "
            f"halved, ROI of {components.cohort} would be {low:,.0f} %; half as much again, "
            f"{high:,.0f} %."
        )
    return sentences


def assumption_value(report: RoiReport, text: Any, number: Any, unit: Any) -> str:
    """An assumption's value: an amount in the report's currency with its symbol (cents only
    when it has them), another number as written, a name as it is."""
    if labels.missing(number):
        return str(text)
    amount = float(number)
    if report.currency in str(unit or "").split():
        if amount == round(amount):
            return labels.show(amount, "money", report.currency)
        return f"{labels.symbol(report.currency)}{amount:,.2f}"
    return f"{amount:,.10g}"


def unit_words(unit: Any) -> str:
    """An assumption's unit without the currency code, which its amount already carries."""
    words = str(unit or "").split()
    return " ".join(w for w in words if not (w.isupper() and len(w) == 3))


# ---- renderers ---------------------------------------------------------------------------------


def render(report: RoiReport, fmt: str) -> bytes:
    if fmt == "pdf":
        from skillstream.dashboards.report_pdf import pdf

        return pdf(report)
    if fmt == "csv":
        return _csv(report)
    if fmt == "xlsx":
        return _xlsx(report)
    raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _csv(report: RoiReport) -> bytes:
    """One CSV: a `table` column names which table each row comes from (CSV has no sheets)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["table", "quarter", "key", "column", "value"])
    for name, table in {**report.tables(), "assumptions": report.assumptions}.items():
        key_column = table.columns[0]
        for row in table.to_dict("records"):
            for column, value in row.items():
                if column != key_column:
                    writer.writerow([name, report.quarter, row[key_column], column, value])
    return buffer.getvalue().encode()


SHEETS = {
    "roi": "ROI by cohort",
    "outcomes": "Outcomes",
    "competency": "Capability",
    "cohort_comparison": "Cohort comparison",
}


def _xlsx(report: RoiReport) -> bytes:
    """A summary sheet first, then a sheet per table: human headers, each column's number format
    (the cells keep the marts' values), frozen header rows and widths that fit."""
    buffer = io.BytesIO()
    summary = pd.DataFrame(
        {"Summary": [f"Learning ROI report, {report.quarter}", *headline(report), *movers(report)]}
    )
    about = pd.DataFrame(
        {
            "Field": [
                "Quarter",
                "Build",
                "Built (UTC)",
                "k (smallest group shown)",
                "Groups left out",
            ],
            "Value": [
                report.quarter,
                report.build_id,
                report.built_at,
                report.k,
                report.hidden_groups,
            ],
        }
    )
    assumptions = pd.DataFrame(
        {
            "Assumption": report.assumptions["name"].map(labels.assumption_label),
            "Value": [
                r.value if labels.missing(r.numeric_value) else float(r.numeric_value)
                for r in report.assumptions.itertuples()
            ],
            "Unit": report.assumptions["unit"].fillna(""),
            "Description": report.assumptions["description"].fillna(""),
        }
    )
    comparison = report.comparison.copy()
    if "metric" in comparison and not comparison.empty:
        comparison["metric"] = comparison["metric"].map(lambda m: labels.measure(m).text)
    tables = {**report.tables(), "cohort_comparison": comparison}
    sheets = {
        "Summary": (summary, False),
        **{SHEETS[name]: (table, True) for name, table in tables.items()},
        "Assumptions": (assumptions, False),
        "About": (about, False),
    }
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for title, (table, labelled) in sheets.items():
            shown = table.rename(columns=labels.label) if labelled else table
            shown.to_excel(writer, sheet_name=title, index=False)
            _format_sheet(writer.sheets[title], list(table.columns), report, labelled)
        _format_compared(writer.sheets[SHEETS["cohort_comparison"]], report.comparison)
    return buffer.getvalue()


def _format_compared(sheet: Any, comparison: pd.DataFrame) -> None:
    """A comparison row's values in its measure's unit: rates as percentages, medians in days."""
    if comparison.empty:
        return
    columns = list(comparison.columns)
    for offset, metric in enumerate(comparison["metric"]):
        number_format = labels.excel_format(labels.measure(str(metric)).unit)
        for column in labels.COMPARED:
            cell = sheet.cell(row=offset + 2, column=columns.index(column) + 1)
            if isinstance(cell.value, int | float):
                cell.number_format = number_format


def _format_sheet(sheet: Any, columns: list[str], report: RoiReport, labelled: bool) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        unit_name = labels.unit(column) if labelled else "text"
        number_format = labels.excel_format(unit_name, report.currency)
        width = len(str(sheet.cell(row=1, column=index).value))
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, int | float):
                cell.number_format = number_format
            width = max(width, min(len(str(cell.value or "")), 80))
        sheet.column_dimensions[letter].width = width + 3


def load_published(settings: Settings, quarter: str) -> RoiReport:
    """The report of a quarter from the build the dashboard shows (the last published one)."""
    current, _ = read_status(settings)
    if current is None or not current.get("snapshot"):
        raise ReportError("no build has been published yet; run `skillstream build` first")
    return load(
        Path(current["snapshot"]),
        quarter,
        build_id=current["build_id"],
        built_at=current["finished_at"],
        settings=settings,
        quality=build_quality(settings, current),
    )


def build_quality(settings: Settings, current: dict[str, Any]) -> BuildQuality:
    """The build's statement counts (quality.runs, read briefly) and its published record."""
    counts: tuple[int | None, int | None] = (None, None)
    unreadable = ""
    try:
        con = warehouse.connect(settings, read_only=True, wait_seconds=5)
    except (warehouse.WarehouseBusy, duckdb.Error) as error:
        unreadable = str(error)
    else:
        try:
            rows = con.execute(
                "SELECT statements, quarantined FROM quality.runs WHERE build_id = ?",
                [current["build_id"]],
            ).fetchall()
            counts = rows[0] if rows else (None, None)
            unreadable = "" if rows else "this build is not in quality.runs"
        except duckdb.CatalogException:
            unreadable = "the warehouse has no quality.runs"
        finally:
            con.close()
    return BuildQuality(
        statements=counts[0],
        quarantined=counts[1],
        newest_event_at=current.get("newest_event_at"),
        gate_success=current.get("gate_success"),
        unreadable=unreadable,
    )


def latest_quarter(settings: Settings) -> str | None:
    """The newest quarter with ROI in the published build, if any."""
    current, _ = read_status(settings)
    if current is None or not current.get("snapshot"):
        return None
    cursor = open_snapshot(current["snapshot"]).cursor()
    try:
        rows = cursor.execute("SELECT max(quarter) FROM marts.roi_quarterly").fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        cursor.close()
    return rows[0][0] if rows else None
