"""The ROI report as a PDF an executive signs: page 1 is the decision (the headline, one chart,
the three assumptions that move ROI most), the pages after it the detail, and an appendix the
identifiers (build, metric names, the definitions as the design contract writes them).

Every label and rounding comes from labels.py, every sentence of the decision from report.py.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from skillstream.dashboards import definitions, labels
from skillstream.dashboards.report import (
    RoiReport,
    assumption_value,
    headline,
    movers,
    unit_words,
)

BASELINE_NOTE = "baseline"
METHOD_NOTES = (
    "ROI follows Phillips: net benefit over costs. Costs are the programme's spend and the "
    "learners' seat time at their hourly cost; benefits are seat time saved, days sooner at "
    "competency and KPI gains, each against the baseline cohort, valued by the assumptions "
    "listed in this report.",
    "A learner counts in the quarter of their first programme statement. Completion, mastery "
    "and retention compare proportions of learners (95 % interval of the difference); days to "
    "competency compares medians (95 % bootstrap interval).",
    "The settings in force and each measure's definition, as the design contract writes them, "
    "are in the appendix.",
)


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _subject(subject_id: Any) -> str:
    return str(subject_id).rstrip("/").rsplit("/", 1)[-1]


def _measure(metric: str) -> tuple[str, str]:
    known = labels.measure(metric)
    return known.text, known.unit


class _Document:
    """An A4 document with the report's fonts, headings, paragraphs and tables."""

    def __init__(self, title: str) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
        self.pdf.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
        self.pdf.set_title(title)
        self.pdf.add_page()

    def title(self, text: str, subtitle: str) -> None:
        self.pdf.set_font("DejaVu", "B", 18)
        self.pdf.cell(0, 11, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("DejaVu", "", 9)
        self.pdf.cell(0, 5, subtitle, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("DejaVu", "B", 12)
        self.pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("DejaVu", "", 9)

    def paragraph(self, text: str, bold: bool = False) -> None:
        self.pdf.set_font("DejaVu", "B" if bold else "", 9)
        self.pdf.multi_cell(0, 4.8, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("DejaVu", "", 9)
        self.pdf.ln(1)

    def table(self, header: list[str], rows: list[list[str]], widths: tuple | None = None) -> None:
        self.pdf.set_font("DejaVu", "", 8)
        with self.pdf.table(
            text_align="RIGHT", line_height=5, first_row_as_headings=True, col_widths=widths
        ) as table:
            table.row(header)
            for values in rows:
                table.row(values)
        self.pdf.set_font("DejaVu", "", 9)

    def image(self, png: bytes, width: float) -> None:
        self.pdf.image(io.BytesIO(png), w=width)


def _roi_cell(report: RoiReport, row: Any, column: str) -> str:
    """The baseline's benefits are measured against itself: no ROI, not a loss."""
    if row["cohort"] == report.baseline and column in (
        "net_benefit",
        "roi_pct",
        "bcr",
        "payback_months",
    ):
        return BASELINE_NOTE
    return labels.show_column(column, row[column], report.currency)


def _cohort_name(report: RoiReport, cohort: Any) -> str:
    return f"{cohort} (baseline)" if cohort == report.baseline else str(cohort)


def _rows(report: RoiReport, table: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    return [
        [
            _cohort_name(report, row[c])
            if c == "cohort"
            else labels.show_column(c, row[c], report.currency)
            for c in columns
        ]
        for row in table.to_dict("records")
    ]


def _decision_chart(report: RoiReport) -> bytes:
    """The invested cohorts' ROI % beside zero; the baseline is what they are measured against."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    invested = report.invested()
    values = pd.to_numeric(invested["roi_pct"], errors="coerce")
    figure, axis = plt.subplots(figsize=(7, 0.9 + 0.45 * len(invested)), dpi=150)
    colours = ["#2e7d32" if v >= 0 else "#c62828" for v in values.fillna(0)]
    axis.barh(list(invested["cohort"]), values.fillna(0), color=colours)
    for position, value in enumerate(values):
        text = "hidden (fewer than k)" if pd.isna(value) else f"{value:.0f} %"
        axis.annotate(text, (0 if pd.isna(value) else value, position), va="center", fontsize=8)
    axis.axvline(0, color="#555555", linewidth=0.8)
    low, high = min(0.0, values.min(skipna=True)), max(0.0, values.max(skipna=True))
    axis.set_xlim(low - 0.05 * (high - low) - 1, high + 0.2 * (high - low) + 1)
    axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f} %"))
    axis.set_title(f"ROI by cohort, {report.quarter} (against the baseline {report.baseline})")
    figure.tight_layout()
    return _png(figure, plt)


def _comparison_chart(report: RoiReport) -> bytes | None:
    """Each shown difference with its 95 % interval drawn, one panel per unit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        r
        for r in report.comparison.to_dict("records")
        if all(not isinstance(r[c], str) for c in ("difference", "ci_low", "ci_high"))
    ]
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(7, 0.5 + 0.45 * len(rows)), dpi=150)
    for position, row in enumerate(rows):
        scale = 100 if _measure(row["metric"])[1] == "rate" else 1
        difference = row["difference"] * scale
        axis.errorbar(
            difference,
            position,
            xerr=[[difference - row["ci_low"] * scale], [row["ci_high"] * scale - difference]],
            fmt="o",
            color="#1565c0",
            capsize=3,
        )
    axis.set_yticks(
        range(len(rows)),
        [f"{_measure(r['metric'])[0]}, {_subject(r['subject_id'])}, {r['cohort']}" for r in rows],
        fontsize=7,
    )
    axis.axvline(0, color="#555555", linewidth=0.8)
    axis.set_xlabel("Difference from the baseline (rates in points, medians in days)", fontsize=8)
    figure.tight_layout()
    return _png(figure, plt)


def _png(figure: Any, plt: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _decision(doc: _Document, report: RoiReport) -> None:
    doc.title(
        f"Learning ROI report — {report.quarter}",
        f"Built {report.built_at[:16].replace('T', ' ')} UTC from the published marts.",
    )
    doc.heading("The decision")
    for line in headline(report):
        doc.paragraph(line, bold=line.startswith("Verdict"))
    if not report.invested().empty:
        doc.image(_decision_chart(report), 160)
    sentences = movers(report)
    if sentences:
        doc.heading("The assumptions that move ROI most")
        for sentence in sentences:
            doc.paragraph(sentence)


def _roi_detail(doc: _Document, report: RoiReport) -> None:
    doc.heading("ROI by cohort (Phillips)")
    columns = ["learners", "costs", "benefits", "net_benefit", "roi_pct", "bcr", "payback_months"]
    doc.table(
        [labels.label(c) for c in ["cohort", *columns]],
        [
            [_cohort_name(report, row["cohort"])] + [_roi_cell(report, row, c) for c in columns]
            for row in report.roi.to_dict("records")
        ],
    )
    doc.paragraph(
        f"The baseline cohort {report.baseline} is what the others are compared against: its "
        "benefits are measured against itself, so it has no ROI of its own."
    )
    components = [
        "programme_cost",
        "seat_time_cost",
        "seat_time_saved_value",
        "competency_days_value",
        "kpi_value",
    ]
    doc.table(
        [labels.label(c) for c in ["cohort", *components]],
        _rows(report, report.roi, ["cohort", *components]),
    )
    if not report.coverage.empty:
        doc.paragraph(
            "Seat time is known for "
            + "; ".join(
                f"{labels.show(r.seat_time_coverage, 'rate')} of {r.cohort}'s learners "
                f"({labels.show(r.learners_with_seat_time, 'count')})"
                for r in report.coverage.itertuples()
            )
            + ": the seat-time cost and saving stand on those learners."
        )


def _outcomes(doc: _Document, report: RoiReport) -> None:
    doc.heading("Outcomes")
    outcomes = [
        "cohort",
        "learners",
        "enrolments",
        "completed",
        "completion_rate",
        "seat_time_hours",
    ]
    doc.table([labels.label(c) for c in outcomes], _rows(report, report.outcomes, outcomes))
    doc.pdf.ln(2)
    capability = [
        "cohort",
        "mastered",
        "mastery_rate",
        "median_days_to_competency",
        "retention_checked",
        "retention_30d_rate",
    ]
    doc.table([labels.label(c) for c in capability], _rows(report, report.competency, capability))


def _comparison(doc: _Document, report: RoiReport) -> None:
    doc.heading("Cohort comparison (all time, 95 % intervals)")
    chart = _comparison_chart(report)
    if chart is None:
        doc.paragraph("No comparison with the baseline can be shown (none, or under k learners).")
        return
    doc.image(chart, 170)
    rows = [
        [
            _measure(r["metric"])[0],
            _subject(r["subject_id"]),
            str(r["cohort"]),
            labels.show(r["value"], _measure(r["metric"])[1]),
            labels.show(r["baseline_value"], _measure(r["metric"])[1]),
            *_difference_cells(r),
            f"{r['n']} vs {r['baseline_n']}",
        ]
        for r in report.comparison.to_dict("records")
    ]
    doc.table(
        [
            "Measure",
            "Subject",
            "Cohort",
            "Cohort value",
            "Baseline",
            "Difference",
            "95 % interval",
            "Learners",
        ],
        rows,
        widths=(26, 24, 14, 16, 16, 24, 30, 18),
    )


def _difference_cells(row: dict[str, Any]) -> list[str]:
    """A difference and its interval as a reader says them: rates in points ("+50.0 points",
    "+29.0 to +65.0"), medians in days ("10.0 days sooner", "8.0 to 12.0 sooner")."""
    values = [row[c] for c in ("difference", "ci_low", "ci_high")]
    hidden = next((v for v in values if isinstance(v, str)), None)
    if hidden is not None or any(labels.missing(v) for v in values):
        return [hidden or labels.MISSING] * 2
    difference, low, high = (float(v) for v in values)
    if _measure(row["metric"])[1] != "days":
        return [f"{difference * 100:+.1f} points", f"{low * 100:+.1f} to {high * 100:+.1f}"]
    if high < 0:
        return [f"{-difference:.1f} days sooner", f"{-high:.1f} to {-low:.1f} sooner"]
    if low > 0:
        return [f"{difference:.1f} days later", f"{low:.1f} to {high:.1f} later"]
    word = "sooner" if difference < 0 else "later"
    return [f"{abs(difference):.1f} days {word}", f"{-low:.1f} sooner to {high:.1f} later"]


def _kpi_links(doc: _Document, report: RoiReport) -> None:
    doc.heading("KPI links")
    if report.kpi_effects.empty:
        doc.paragraph(
            "No KPI change can be shown for this quarter (no KPI imported, or under k learners)."
        )
        return
    doc.table(
        ["KPI", "Cohort", "Learners", "Change", "Baseline change", "Difference", "95 % interval"],
        [
            [
                str(r["kpi"]).replace("_", " "),
                str(r["cohort"]),
                labels.show(r["learners"], "count"),
                labels.show(r["change"], "ratio"),
                labels.show(r["baseline_change"], "ratio"),
                labels.show(r["did"], "ratio"),
                f"{labels.show(r['ci_low'], 'ratio')} to {labels.show(r['ci_high'], 'ratio')}",
            ]
            for r in report.kpi_effects.to_dict("records")
        ],
    )


def _assumptions(doc: _Document, report: RoiReport) -> None:
    doc.heading("Every assumption")
    doc.table(
        ["Assumption", "Value", "Unit", "Description"],
        [
            [
                labels.assumption_label(r.name),
                assumption_value(report, r.value, r.numeric_value, r.unit),
                unit_words(r.unit),
                str(r.description or ""),
            ]
            for r in report.assumptions.itertuples()
        ],
        widths=(45, 20, 35, 70),
    )


def _method_and_quality(doc: _Document, report: RoiReport) -> None:
    doc.heading("Method notes")
    for note in METHOD_NOTES:
        doc.paragraph(note)
    doc.heading("Data quality of this build")
    for sentence in report.quality.sentences() if report.quality else []:
        doc.paragraph(sentence)
    doc.heading("Privacy: the k rule")
    doc.paragraph(
        f"No figure shown rests on fewer than {report.k} learners: a smaller group, or one "
        "that would let a learner be worked out from a total, is left out or reads "
        f"“fewer than {report.k}”. "
        + (
            f"{report.hidden_groups} group(s) are left out of this report."
            if report.hidden_groups
            else "No group is left out of this report."
        )
    )


def _appendix(doc: _Document, report: RoiReport) -> None:
    doc.pdf.add_page()
    doc.heading("Appendix: identifiers and definitions")
    doc.paragraph(f"Build {report.build_id}, built {report.built_at} UTC.")
    doc.paragraph(report.preamble)
    for _, metric, definition in definitions.METRICS:
        doc.pdf.multi_cell(
            0,
            4.5,
            f"**{metric}**: {definition}",
            markdown=True,
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        doc.pdf.ln(1)


def pdf(report: RoiReport) -> bytes:
    doc = _Document(f"Learning ROI report {report.quarter}")
    _decision(doc, report)
    doc.pdf.add_page()
    _roi_detail(doc, report)
    _outcomes(doc, report)
    _comparison(doc, report)
    _kpi_links(doc, report)
    _assumptions(doc, report)
    _method_and_quality(doc, report)
    _appendix(doc, report)
    return bytes(doc.pdf.output())
