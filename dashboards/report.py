"""The quarterly ROI report for executives: PDF, CSV or XLSX from the published marts.

`skillstream report roi` and the ROI page's download buttons both call `render`, so they
give the same files. Every number comes from the published snapshot; groups under k learners
are left out, as on the dashboard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
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
class Scenario:
    """Assumptions edited on the ROI page and each cohort's ROI with them (roi.scenario),
    printed beside the published figures and labelled as a scenario."""

    published: dict[str, float]  # the build's numeric assumptions
    edited: dict[str, float]  # the assumptions changed from them
    results: list[roi.RoiResult]

    def rows(self) -> list[dict[str, Any]]:
        """Per edited assumption its published and scenario value (the CSV's scenario rows)."""
        return [
            {"name": name, "published": self.published[name], "scenario": value}
            for name, value in self.edited.items()
        ]


@dataclass(frozen=True)
class PilotCase:
    """A configured pilot in the report: its readout and, when the k rule shows it, the
    organisation-wide projection of its effect (pilot.projection_of with the [roi] settings
    projection_headcount and projection_spend_per_employee)."""

    readout: pilot.Readout
    projection: pilot.Projection | None
    unit_value: float = 0.0  # the value of one unit of gain the projection used

    def rows(self) -> dict[str, Any]:
        """The readout and the projection as one machine-readable record (the CSV's rows)."""
        record = pilot.readout_json(self.readout)
        if self.readout.shown:
            record["powered"] = self.readout.power >= pilot.PLANNED_POWER
        if self.projection is not None:
            p = self.projection
            record |= {
                "headcount": p.headcount,
                "spend_per_employee": p.spend_per_employee,
                "annual_cost": p.annual_cost,
            }
            record["unit_value"] = self.unit_value
            record["effect"] = p.assumptions["effect per employee and year"]
            for case, figures_of in self.cases():
                record[f"benefit_{case}"] = figures_of.benefit
                record[f"roi_pct_{case}"] = figures_of.roi_pct
                record[f"payback_months_{case}"] = figures_of.payback_months
        return record

    def cases(self) -> list[tuple[str, pilot.Case]]:
        p = self.projection
        return [] if p is None else [("low", p.low), ("estimate", p.estimate), ("high", p.high)]

    def measure(self) -> labels.Label:
        """The readout's measure with its unit (a rate, or days)."""
        return labels.measure(PILOT_MEASURES[self.readout.pilot.metric])


# A pilot's metric as the comparison marts name the measure (labels.MEASURES).
PILOT_MEASURES = {
    "completion": "completion_rate",
    "mastery": "mastery_rate",
    "retention_30d": "retention_30d_rate",
    "days_to_competency": "median_days_to_competency",
}


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
    pilots: tuple[PilotCase, ...] = ()  # the configured pilots (settings [[pilots]])
    scenario: Scenario | None = None  # the ROI page's edited assumptions, when downloaded there

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
        pilots=pilot_cases(build, settings, privacy),
    )


def with_scenario(report: RoiReport, edited: dict[str, float]) -> RoiReport:
    """The report carrying the ROI page's edited assumptions as a scenario; as it is when none
    differs from the published value."""
    published = published_assumptions(report)
    changed = {
        name: float(value)
        for name, value in edited.items()
        if name in published and float(value) != published[name]
    }
    if not changed:
        return replace(report, scenario=None)
    shown = report.roi[pd.to_numeric(report.roi["learners"], errors="coerce").notna()]
    results = roi.scenario(figures.roi_components(shown), published, changed)
    return replace(report, scenario=Scenario(published, changed, results))


def published_assumptions(report: RoiReport) -> dict[str, float]:
    """The build's numeric assumptions by name."""
    return {
        r.name: float(r.numeric_value)
        for r in report.assumptions.itertuples()
        if not labels.missing(r.numeric_value)
    }


def pilot_cases(
    build: figures.Published, settings: Settings, privacy: Privacy
) -> tuple[PilotCase, ...]:
    """Each configured pilot's readout and, when shown, its projection to the organisation."""
    cases = []
    for configured in settings.pilots:
        result = pilot.readout(build, configured, privacy, settings.comparison_seed)
        unit_value = pilot.default_unit_value(result, settings.roi)
        projection = (
            pilot.projection_of(
                result,
                settings.roi.projection_headcount,
                settings.roi.projection_spend_per_employee,
                unit_value,
                settings.roi.currency,
                pilot.kpi_value_of(build, result, settings.roi, privacy.k),
            )
            if result.shown and result.effect is not None
            else None
        )
        cases.append(PilotCase(result, projection, unit_value))
    return tuple(cases)


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
    published = published_assumptions(report)
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


def pilot_sentence(report: RoiReport, case: PilotCase) -> str:
    """A pilot's readout and projection in plain words; a hidden one names only the k rule."""
    result = case.readout
    if not result.shown or result.effect is None or case.projection is None:
        return pilot.readout_text(result) + "."
    configured, measure = result.pilot, case.measure()
    difference, interval = difference_words(
        measure.unit, result.effect.estimate, result.effect.low, result.effect.high
    )
    powered = "powered" if result.power >= pilot.PLANNED_POWER else "not powered"
    planned = pilot.lift_text(configured.metric, configured.lift)
    p = case.projection
    return (
        f"{configured.name} ({configured.cohort} against {configured.baseline_cohort}, "
        f"{measure.text.lower()}): {result.verdict.upper()}, {result.why}. "
        f"{labels.show(result.value, measure.unit)} against "
        f"{labels.show(result.baseline_value, measure.unit)}, {difference} (95 % interval "
        f"{interval}); {powered} for the planned {planned} "
        f"({labels.show(result.power, 'rate')} power). Projected to {p.headcount:,} employees at "
        f"{report.money(p.spend_per_employee)} each a year: ROI "
        f"{labels.show(p.estimate.roi_pct, 'percent')} ({labels.show(p.low.roi_pct, 'percent')} "
        f"to {labels.show(p.high.roi_pct, 'percent')}), {payback_words(p.estimate)}."
    )


def payback_words(case: pilot.Case) -> str:
    if case.payback_months is None:
        return "no payback"
    return f"payback in {labels.show(case.payback_months, 'months')} months"


def difference_words(unit_name: str, difference: float, low: float, high: float) -> tuple[str, str]:
    """A difference and its interval as a reader says them: rates in points ("+50.0 points",
    "+29.0 to +65.0"), medians in days ("10.0 days sooner", "8.0 to 12.0 sooner")."""
    if unit_name != "days":
        return f"{difference * 100:+.1f} points", f"{low * 100:+.1f} to {high * 100:+.1f}"
    if high < 0:
        return f"{-difference:.1f} days sooner", f"{-high:.1f} to {-low:.1f} sooner"
    if low > 0:
        return f"{difference:.1f} days later", f"{low:.1f} to {high:.1f} later"
    word = "sooner" if difference < 0 else "later"
    return f"{abs(difference):.1f} days {word}", f"{-low:.1f} sooner to {high:.1f} later"


def scenario_sentence(report: RoiReport) -> str:
    """What the scenario changed, as one sentence (the PDF and the XLSX summary)."""
    scenario = report.scenario
    assert scenario is not None
    changes = "; ".join(
        f"{labels.assumption_label(r['name'])} {_assumption(report, r['published'], r['name'])} → "
        f"{_assumption(report, r['scenario'], r['name'])}"
        for r in scenario.rows()
    )
    return (
        "Scenario: these figures were downloaded from the ROI page with edited assumptions "
        f"({changes}); the published figures stand beside them."
    )


def _assumption(report: RoiReport, value: float, name: str) -> str:
    units = dict(zip(report.assumptions["name"], report.assumptions["unit"], strict=True))
    return assumption_value(report, value, value, units.get(name))


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
    """One CSV: a `table` column names which table each row comes from (CSV has no sheets).
    A KPI link's key is `kpi:cohort`; a pilot's its name; the ROI page's what-if rows are the
    tables `scenario_assumptions` and `scenario_roi`, beside the published ones."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["table", "quarter", "key", "column", "value"])
    for name, table in {**report.tables(), "assumptions": report.assumptions}.items():
        key_column = table.columns[0]
        for row in table.to_dict("records"):
            for column, value in row.items():
                if column != key_column:
                    writer.writerow([name, report.quarter, row[key_column], column, value])
    for name, key, record in _csv_records(report):
        for column, value in record.items():
            writer.writerow([name, report.quarter, key, column, value])
    return buffer.getvalue().encode()


def _csv_records(report: RoiReport) -> list[tuple[str, str, dict[str, Any]]]:
    """(table, key, record) of the KPI links, the pilots and the scenario."""
    records = [
        ("kpi_effects", f"{r.pop('kpi')}:{r.pop('cohort')}", r)
        for r in report.kpi_effects.drop(columns="quarter", errors="ignore").to_dict("records")
    ]
    for case in report.pilots:
        record = case.rows()
        name = str(record.pop("pilot"))
        records.append(("pilot", name, record))
        if case.projection is not None:
            records.append(("pilot_assumptions", name, dict(case.projection.assumptions)))
    if report.scenario is not None:
        for row in report.scenario.rows():
            records.append(("scenario_assumptions", row.pop("name"), row))
        for result in report.scenario.results:
            record = vars(result).copy()
            records.append(("scenario_roi", str(record.pop("cohort")), record))
    return records


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
    comparison = report.comparison.copy()
    if "metric" in comparison and not comparison.empty:
        comparison["metric"] = comparison["metric"].map(lambda m: labels.measure(m).text)
    tables = {**report.tables(), "cohort_comparison": comparison}
    sheets: dict[str, tuple[pd.DataFrame, list[str]]] = {
        "Summary": (_summary_sheet(report), ["text"]),
        **{SHEETS[name]: _labelled(table) for name, table in tables.items()},
        **_pilot_sheets(report),
        **({"KPI links": _labelled(report.kpi_effects)} if len(report.kpi_effects) else {}),
        **_scenario_sheets(report),
        "Assumptions": (_assumptions_sheet(report), ["text"] * 4),
        "About": (_about_sheet(report), ["text", "text"]),
    }
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for title, (table, units) in sheets.items():
            table.to_excel(writer, sheet_name=title, index=False)
            _format_sheet(writer.sheets[title], units, report.currency)
        _format_compared(writer.sheets[SHEETS["cohort_comparison"]], report.comparison)
        if "Pilot" in writer.sheets:
            _format_pilot_values(writer.sheets["Pilot"], report)
    return buffer.getvalue()


def _labelled(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A mart table under its human headers, with each column's unit."""
    return table.rename(columns=labels.label), [labels.unit(str(c)) for c in table.columns]


def _summary_sheet(report: RoiReport) -> pd.DataFrame:
    lines = [f"Learning ROI report, {report.quarter}", *headline(report), *movers(report)]
    lines += [pilot_sentence(report, case) for case in report.pilots]
    if report.pilots:
        lines += ["Pilot verdict rules:", *pilot.VERDICT_RULES]
    if report.scenario is not None:
        lines.append(scenario_sentence(report))
    return pd.DataFrame({"Summary": lines})


def _about_sheet(report: RoiReport) -> pd.DataFrame:
    return pd.DataFrame(
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


def _assumptions_sheet(report: RoiReport) -> pd.DataFrame:
    return pd.DataFrame(
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


PILOT_READOUT = {  # column of PilotCase.rows() -> (header, unit; "measure": the pilot's own)
    "pilot": ("Pilot", "text"),
    "measure": ("Measure", "text"),
    "cohort": ("Pilot cohort", "text"),
    "baseline_cohort": ("Baseline cohort", "text"),
    "window_end": ("Window ends", "text"),
    "is_complete": ("Window ended", "text"),
    "n": ("Pilot learners", "count"),
    "baseline_n": ("Baseline learners", "count"),
    "value": ("Pilot value", "measure"),
    "baseline_value": ("Baseline value", "measure"),
    "difference": ("Difference", "measure"),
    "ci_low": ("95 % interval, low", "measure"),
    "ci_high": ("95 % interval, high", "measure"),
    "planned_lift": ("Planned lift", "text"),
    "power": ("Power for the planned lift", "rate"),
    "powered": ("Powered (80 %)", "text"),
    "verdict": ("Verdict", "text"),
    "why": ("Why", "text"),
}
PILOT_PROJECTION = {
    "pilot": ("Pilot", "text"),
    "case": ("Case", "text"),
    "headcount": ("Headcount", "count"),
    "spend_per_employee": ("Spend per employee per year", "money"),
    "unit_value": ("Value of one unit of gain", "money"),
    "annual_cost": ("Annual cost", "money"),
    "benefit": ("Benefit", "money"),
    "roi_pct": ("ROI", "percent"),
    "payback_months": ("Payback (months)", "months"),
    "effect": ("Effect used", "text"),
}


def _pilot_sheets(report: RoiReport) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """The readout of each pilot (a hidden one names only the k rule) and its projection."""
    if not report.pilots:
        return {}
    readouts, projections = [], []
    for case in report.pilots:
        record, configured = case.rows(), case.readout.pilot
        readouts.append(
            {
                **{column: record.get(column, record.get("hidden")) for column in PILOT_READOUT},
                "pilot": configured.name,
                "measure": case.measure().text,
                "cohort": configured.cohort,
                "baseline_cohort": configured.baseline_cohort,
                "window_end": f"{case.readout.window_end:%Y-%m-%d}",
                "is_complete": "yes" if case.readout.is_complete else "no, still open",
                "planned_lift": pilot.lift_text(configured.metric, configured.lift),
                "powered": ("yes" if record["powered"] else "no") if "powered" in record else "",
            }
        )
        projections += [
            {
                "pilot": configured.name,
                "case": name,
                **{c: record[c] for c in ("headcount", "spend_per_employee", "unit_value")},
                "annual_cost": record["annual_cost"],
                "benefit": figures_of.benefit,
                "roi_pct": figures_of.roi_pct,
                "payback_months": figures_of.payback_months,
                "effect": record["effect"],
            }
            for name, figures_of in case.cases()
        ]
    sheets = {"Pilot": _headed(pd.DataFrame(readouts), PILOT_READOUT)}
    if projections:
        sheets["Pilot projection"] = _headed(pd.DataFrame(projections), PILOT_PROJECTION)
    return sheets


def _headed(
    frame: pd.DataFrame, columns: dict[str, tuple[str, str]]
) -> tuple[pd.DataFrame, list[str]]:
    """A frame in `columns`' order under their headers, with their units."""
    shown = frame[list(columns)].rename(columns={c: h for c, (h, _) in columns.items()})
    return shown, [u for _, u in columns.values()]


def _format_pilot_values(sheet: Any, report: RoiReport) -> None:
    """Each pilot's values in its measure's unit: rates as percentages, medians in days."""
    columns = list(PILOT_READOUT)
    for offset, case in enumerate(report.pilots):
        number_format = labels.excel_format(case.measure().unit)
        for column, (_, unit_name) in PILOT_READOUT.items():
            cell = sheet.cell(row=offset + 2, column=columns.index(column) + 1)
            if unit_name == "measure" and isinstance(cell.value, int | float):
                cell.number_format = number_format


def _scenario_sheets(report: RoiReport) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """The what-if of the ROI page: each edited assumption, published vs scenario, and each
    invested cohort's ROI % both ways."""
    scenario = report.scenario
    if scenario is None:
        return {}
    published = report.roi.set_index("cohort")["roi_pct"]
    rows = [
        ("assumption", labels.assumption_label(r["name"]), r["published"], r["scenario"])
        for r in scenario.rows()
    ] + [
        ("ROI %", result.cohort, published[result.cohort], result.roi_pct)
        for result in scenario.results
        if result.cohort != report.baseline
    ]
    frame = pd.DataFrame(rows, columns=["Row", "Name", "Published", "Scenario"])
    frame.insert(0, "Figures", "scenario: assumptions edited on the ROI page")
    return {"Scenario": (frame, ["text", "text", "text", "ratio", "ratio"])}


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


def _format_sheet(sheet: Any, units: list[str], currency: str) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for index, unit_name in enumerate(units, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        number_format = labels.excel_format(unit_name, currency)
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
