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

from skillstream import pilot
from skillstream.dashboards import definitions, labels
from skillstream.dashboards.report import (
    PilotCase,
    RoiReport,
    assumption_value,
    difference_words,
    headline,
    movers,
    pilot_sentence,
    scenario_sentence,
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
        self.pdf.ln(1.5)

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
        axis.annotate(
            text,
            (0 if pd.isna(value) else value, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
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
    figure, axis = plt.subplots(figsize=(7, 0.7 + 0.5 * len(rows)), dpi=150)
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
        [f"{_measure(r['metric'])[0]}\n{_subject(r['subject_id'])}, {r['cohort']}" for r in rows],
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
    if report.pilots:
        doc.heading("The pilot")
        for case in report.pilots:
            doc.paragraph(pilot_sentence(report, case))
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
    """A comparison row's difference and interval in words (report.difference_words)."""
    values = [row[c] for c in ("difference", "ci_low", "ci_high")]
    hidden = next((v for v in values if isinstance(v, str)), None)
    if hidden is not None or any(labels.missing(v) for v in values):
        return [hidden or labels.MISSING] * 2
    return list(difference_words(_measure(row["metric"])[1], *(float(v) for v in values)))


def _pilots(doc: _Document, report: RoiReport) -> None:
    """Each configured pilot: the readout against its baseline, the verdict with the rules
    written out, and the projection to the organisation with its band and assumptions."""
    if not report.pilots:
        return
    doc.heading("Pilot readout and projection")
    for case in report.pilots:
        _pilot(doc, report, case)
    doc.paragraph("Verdict rules, in this order (the 95 % interval in the planned direction):")
    for rule in pilot.VERDICT_RULES:
        doc.paragraph(f"• {rule}.")


def _pilot(doc: _Document, report: RoiReport, case: PilotCase) -> None:
    result, configured = case.readout, case.readout.pilot
    if not result.shown or result.effect is None or case.projection is None:
        doc.paragraph(pilot_sentence(report, case))
        return
    measure = case.measure()
    doc.paragraph(
        f"{configured.name}: {configured.cohort} against {configured.baseline_cohort}, "
        f"{measure.text.lower()}, window to {result.window_end:%Y-%m-%d}"
        + (" (ended)." if result.is_complete else " (still open).")
    )
    effect = result.effect
    doc.table(
        ["Measure", "Pilot", "Baseline", "Difference", "95 % interval", "Power", "Verdict"],
        [
            [
                measure.text,
                f"{labels.show(result.value, measure.unit)} (n {result.n:,})",
                f"{labels.show(result.baseline_value, measure.unit)} (n {result.baseline_n:,})",
                *difference_words(measure.unit, effect.estimate, effect.low, effect.high),
                labels.show(result.power, "rate"),
                result.verdict.upper(),
            ]
        ],
        widths=(34, 26, 26, 24, 26, 14, 20),
    )
    powered = "had" if result.power >= pilot.PLANNED_POWER else "did not have"
    doc.paragraph(
        f"Verdict {result.verdict.upper()}: {result.why}. At these sizes the pilot {powered} "
        f"80 % power for the planned {pilot.lift_text(configured.metric, configured.lift)} "
        f"({labels.show(result.power, 'rate')})."
    )
    p = case.projection
    doc.paragraph(
        f"Projected to the organisation: {p.headcount:,} employees at "
        f"{report.money(p.spend_per_employee)} each a year, an annual cost of "
        f"{report.money(p.annual_cost)}; low and high from the ends of the 95 % interval."
    )
    doc.table(
        ["Case", "Annual cost", "Benefit", "ROI", "Payback (months)"],
        [
            [
                name,
                report.money(p.annual_cost),
                report.money(figures_of.benefit),
                labels.show(figures_of.roi_pct, "percent"),
                "no payback"
                if figures_of.payback_months is None
                else labels.show(figures_of.payback_months, "months"),
            ]
            for name, figures_of in case.cases()
        ],
    )
    doc.paragraph("Assumptions: " + "; ".join(f"{k}: {v}" for k, v in p.assumptions.items()) + ".")


def _scenario(doc: _Document, report: RoiReport) -> None:
    """The ROI page's what-if, labelled as a scenario beside the published figures."""
    scenario = report.scenario
    if scenario is None:
        return
    doc.heading("Scenario (assumptions edited on the ROI page)")
    doc.paragraph(scenario_sentence(report))
    units = dict(zip(report.assumptions["name"], report.assumptions["unit"], strict=True))
    doc.table(
        ["Assumption", "Published", "Scenario"],
        [
            [
                labels.assumption_label(r["name"]),
                assumption_value(report, r["published"], r["published"], units.get(r["name"])),
                assumption_value(report, r["scenario"], r["scenario"], units.get(r["name"])),
            ]
            for r in scenario.rows()
        ],
        widths=(80, 45, 45),
    )
    published = report.roi.set_index("cohort")
    doc.table(
        ["Cohort", "Published ROI", "Scenario ROI", "Published payback", "Scenario payback"],
        [
            [
                result.cohort,
                labels.show(published.loc[result.cohort, "roi_pct"], "percent"),
                labels.show(result.roi_pct, "percent"),
                labels.show(published.loc[result.cohort, "payback_months"], "months"),
                labels.show(result.payback_months, "months"),
            ]
            for result in scenario.results
            if result.cohort != report.baseline
        ],
    )


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
    _scenario(doc, report)
    doc.pdf.add_page()
    _roi_detail(doc, report)
    _outcomes(doc, report)
    _comparison(doc, report)
    _pilots(doc, report)
    _kpi_links(doc, report)
    _assumptions(doc, report)
    _method_and_quality(doc, report)
    _appendix(doc, report)
    return bytes(doc.pdf.output())
