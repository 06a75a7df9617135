"""The quarterly ROI report for executives: PDF, CSV or XLSX from the published marts.

`skillstream report roi` and the ROI page's download buttons both call `render`, so they
give the same files. Every number comes from the published snapshot; groups under k learners
are left out, as on the dashboard.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from skillstream.dashboards import definitions, figures, views
from skillstream.dashboards.suppression import Privacy
from skillstream.quality.publish import open_snapshot, read_status
from skillstream.settings import Settings

FORMATS = ("pdf", "csv", "xlsx")


class ReportError(ValueError):
    """A report that cannot be made, with what to do about it."""


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

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "roi": self.roi,
            "outcomes": self.outcomes,
            "competency": self.competency,
            "cohort_comparison": self.comparison,
        }


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
    snapshot: Path, quarter: str, build_id: str, built_at: str, settings: Settings
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
    assumptions = figures.query(
        build, "SELECT name, value, unit, description FROM marts.roi_assumptions ORDER BY name"
    )
    return RoiReport(
        quarter=quarter,
        build_id=build_id,
        built_at=built_at,
        k=privacy.k,
        roi=roi.table()[["cohort", *(f.column for f in figures.ROI_FIGURES[:7])]],
        outcomes=cohorts.programs.table()[OUTCOMES],
        competency=cohorts.skills.table()[COMPETENCY],
        comparison=comparison,
        assumptions=assumptions,
        hidden_groups=roi.hidden_groups
        + cohorts.programs.hidden_groups
        + cohorts.skills.hidden_groups,
        preamble=definitions.preamble(settings),
    )


# ---- formatting, shared by the PDF and the tests that read it back ----------------------------


# A str is a figure the k rule hid ("fewer than k"): printed as it is.


def money(value: float | str | None) -> str:
    return _hidden_or(value, lambda v: f"{v:,.0f}")


def percent(value: float | str | None, digits: int = 1) -> str:
    return _hidden_or(value, lambda v: f"{v:.{digits}f}%")


def rate(value: float | str | None) -> str:
    return _hidden_or(value, lambda v: f"{v * 100:.1f}%")


def number(value: float | str | None, digits: int = 2) -> str:
    return _hidden_or(value, lambda v: f"{v:,.{digits}f}")


def _hidden_or(value: float | str | None, show: Callable[[float], str]) -> str:
    if isinstance(value, str):
        return value
    return "n/a" if value is None or _nan(value) else show(float(value))


def _nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


# ---- renderers ---------------------------------------------------------------------------------


def render(report: RoiReport, fmt: str) -> bytes:
    if fmt == "pdf":
        return _pdf(report)
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


def _xlsx(report: RoiReport) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in report.tables().items():
            table.to_excel(writer, sheet_name=name, index=False)
        report.assumptions.to_excel(writer, sheet_name="assumptions", index=False)
        pd.DataFrame(
            {
                "field": ["quarter", "build_id", "built_at", "k_anonymity", "hidden_groups"],
                "value": [
                    report.quarter,
                    report.build_id,
                    report.built_at,
                    report.k,
                    report.hidden_groups,
                ],
            }
        ).to_excel(writer, sheet_name="about", index=False)
    return buffer.getvalue()


def executive_summary(report: RoiReport) -> str:
    sentences = [
        f"Quarter {report.quarter}, build {report.build_id} (built {report.built_at} UTC)."
    ]
    for row in report.roi.itertuples():
        sentences.append(
            f"{row.cohort}: {int(row.learners)} learners, costs {money(row.costs)}, benefits "
            f"{money(row.benefits)}, ROI {percent(row.roi_pct)}, BCR {number(row.bcr)}, "
            + (
                "no payback (no net benefit)."
                if _nan(row.payback_months) or row.payback_months is None
                else f"payback {number(row.payback_months, 1)} months."
            )
        )
    completion = report.comparison[report.comparison["metric"] == "completion_rate"]
    for row in completion.itertuples():
        if isinstance(row.difference, str):  # fewer than k on a side: no sentence
            continue
        sentences.append(
            f"On {row.subject_id}, {row.cohort} completes {row.difference * 100:+.0f} points "
            f"against {row.baseline_cohort} "
            f"(95% CI {row.ci_low * 100:.0f} to {row.ci_high * 100:.0f}; "
            f"n = {row.n} vs {row.baseline_n})."
        )
    if report.hidden_groups:
        sentences.append(
            f"{report.hidden_groups} group(s) with fewer than {report.k} learners are left out."
        )
    return " ".join(sentences)


def _chart_png(report: RoiReport) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    merged = report.outcomes.merge(report.competency, on="cohort", how="outer")
    for column in ("completion_rate", "mastery_rate"):
        merged[column] = pd.to_numeric(merged[column], errors="coerce")  # hidden: no bar
    figure, axis = plt.subplots(figsize=(7, 2.8), dpi=150)
    positions = range(len(merged))
    width = 0.38
    axis.bar(
        [p - width / 2 for p in positions],
        merged["completion_rate"].fillna(0) * 100,
        width,
        label="completion rate",
    )
    axis.bar(
        [p + width / 2 for p in positions],
        merged["mastery_rate"].fillna(0) * 100,
        width,
        label="mastery rate",
    )
    axis.set_xticks(list(positions), list(merged["cohort"]))
    axis.set_ylabel("%")
    axis.set_ylim(0, 100)
    axis.set_title(f"Cohort comparison, {report.quarter}")
    axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _pdf(report: RoiReport) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"skillstream ROI report {report.quarter}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 12, f"Learning ROI report — {report.quarter}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(
        0,
        6,
        f"skillstream · build {report.build_id} · built {report.built_at} UTC",
        new_x="LMARGIN",
        new_y="NEXT",
    )

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)

    def table(header: list[str], rows: list[list[str]]) -> None:
        with pdf.table(text_align="RIGHT", line_height=5.5, first_row_as_headings=True) as t:
            t.row(header)
            for values in rows:
                t.row(values)

    heading("Executive summary")
    pdf.multi_cell(0, 5, executive_summary(report), align="L", new_x="LMARGIN", new_y="NEXT")

    heading("ROI by cohort (Phillips)")
    table(
        [
            "cohort",
            "learners",
            "costs",
            "benefits",
            "net benefit",
            "ROI",
            "BCR",
            "payback (months)",
        ],
        [
            [
                r.cohort,
                str(int(r.learners)),
                money(r.costs),
                money(r.benefits),
                money(r.net_benefit),
                percent(r.roi_pct),
                number(r.bcr),
                number(r.payback_months, 1),
            ]
            for r in report.roi.itertuples()
        ],
    )
    heading("Key performance indicators")
    kpis = report.outcomes.merge(
        report.competency, on="cohort", how="outer", suffixes=("", "_skills")
    )
    table(
        [
            "cohort",
            "learners",
            "enrolments",
            "completed",
            "completion",
            "seat hours",
            "mastery",
            "median days to competency",
        ],
        [
            [
                r.cohort,
                number(r.learners, 0),
                number(r.enrolments, 0),
                number(r.completed, 0),
                rate(r.completion_rate),
                number(r.seat_time_hours, 1),
                rate(r.mastery_rate),
                number(r.median_days_to_competency, 1),
            ]
            for r in kpis.itertuples()
        ],
    )
    heading("Cohort comparison")
    pdf.image(io.BytesIO(_chart_png(report)), w=170)
    if not report.comparison.empty:
        table(
            ["metric", "subject", "cohort", "value", "baseline", "difference", "95% CI", "n"],
            [
                [
                    r.metric,
                    str(r.subject_id).rsplit("/", 1)[-1],
                    r.cohort,
                    number(r.value),
                    number(r.baseline_value),
                    number(r.difference),
                    f"{number(r.ci_low)} to {number(r.ci_high)}",
                    f"{r.n} vs {r.baseline_n}",
                ]
                for r in report.comparison.itertuples()
            ],
        )
    heading("Assumptions")
    table(
        ["assumption", "value", "unit", "description"],
        [
            [r.name, str(r.value), str(r.unit or ""), str(r.description or "")]
            for r in report.assumptions.itertuples()
        ],
    )
    heading("Method notes")
    pdf.multi_cell(0, 4.5, report.preamble, align="L", new_x="LMARGIN", new_y="NEXT")
    for _, metric, definition in definitions.METRICS:
        pdf.ln(1)
        pdf.multi_cell(
            0,
            4.5,
            f"**{metric}**: {definition}",
            markdown=True,
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


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
