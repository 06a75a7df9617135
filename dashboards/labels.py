"""The one mapping from a mart column to what a reader sees: its label, its unit and how it is
rounded. The pages, the PDF and the XLSX headers all read it, so a figure reads the same
wherever it is shown; the CSV keeps the raw column names for machines.

Units and their rounding:
- money: whole currency units with the currency's symbol ("$67,440");
- rate: a share 0–1 shown as a percentage with one decimal ("72.1 %");
- percent: already a percentage (ROI), one decimal;
- count: whole numbers with thousands separators;
- days, hours, months: one decimal; minutes: whole minutes;
- ratio: two decimals (the benefit–cost ratio, scores);
- text: as it is.
A figure the k rule hid is a string ("fewer than 5") and is printed as it is; a missing figure
prints as a dash, never "None" or "nan".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

MISSING = "—"

# Symbols of the currencies the ROI is usually configured in; any other prints as its code.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$"}


@dataclass(frozen=True)
class Label:
    text: str
    unit: str  # one of UNITS


UNITS = ("money", "rate", "percent", "count", "days", "hours", "months", "minutes", "ratio", "text")

LABELS: dict[str, Label] = {
    # who
    "cohort": Label("Cohort", "text"),
    "baseline_cohort": Label("Baseline cohort", "text"),
    "team": Label("Team", "text"),
    "role": Label("Role", "text"),
    "org": Label("Organisation", "text"),
    "quarter": Label("Quarter", "text"),
    "week_start": Label("Week starting", "text"),
    "program_id": Label("Programme", "text"),
    "skill_id": Label("Skill", "text"),
    "subject_id": Label("Programme or skill", "text"),
    "metric": Label("Measure", "text"),
    # outcomes
    "learners": Label("Learners", "count"),
    "enrolments": Label("Enrolments", "count"),
    "completed": Label("Completed", "count"),
    "completion_rate": Label("Completion rate", "rate"),
    "seat_time_hours": Label("Seat time (hours)", "hours"),
    # capability
    "mastered": Label("Mastered", "count"),
    "mastery_rate": Label("Mastery rate", "rate"),
    "median_days_to_competency": Label("Median days to competency", "days"),
    "p75_days_to_competency": Label("Days to competency, 75th percentile", "days"),
    "days_to_competency": Label("Days to competency", "days"),
    "retention_checked": Label("Learners checked for retention", "count"),
    "retained": Label("Retained", "count"),
    "retention_30d_rate": Label("30-day retention", "rate"),
    "mean_latest_score": Label("Mean latest score", "ratio"),
    # engagement
    "active_learners": Label("Active learners", "count"),
    "sessions": Label("Sessions", "count"),
    "active_minutes": Label("Active minutes", "minutes"),
    "practice_attempts": Label("Practice attempts", "count"),
    "hints_requested": Label("Hints requested", "count"),
    "feedback_given": Label("Feedback given", "count"),
    # at risk
    "enrolled": Label("Enrolled", "count"),
    "at_risk": Label("At risk", "count"),
    "at_risk_share": Label("Share at risk", "rate"),
    # ROI (Phillips)
    "costs": Label("Costs", "money"),
    "benefits": Label("Benefits", "money"),
    "net_benefit": Label("Net benefit", "money"),
    "roi_pct": Label("ROI", "percent"),
    "bcr": Label("Benefit–cost ratio", "ratio"),
    "payback_months": Label("Payback (months)", "months"),
    "programme_cost": Label("Programme cost", "money"),
    "seat_time_cost": Label("Seat-time cost", "money"),
    "seat_time_saved_value": Label("Value of seat time saved", "money"),
    "competency_days_value": Label("Value of earlier competency", "money"),
    "kpi_value": Label("Value of KPI gains", "money"),
    "seat_time_coverage": Label("Seat-time coverage", "rate"),
    "learners_with_seat_time": Label("Learners with seat time", "count"),
    # cohort comparison: value and difference take the unit of the row's measure
    "value": Label("Cohort value", "text"),
    "baseline_value": Label("Baseline", "text"),
    "difference": Label("Difference", "text"),
    "ci_low": Label("95 % interval, low", "text"),
    "ci_high": Label("95 % interval, high", "text"),
    "n": Label("Learners (cohort)", "count"),
    "baseline_n": Label("Learners (baseline)", "count"),
    # assessment items
    "item_id": Label("Item", "text"),
    "assessment_id": Label("Assessment", "text"),
    "flag": Label("Flag", "text"),
    "attempts": Label("Attempts", "count"),
    "difficulty": Label("Difficulty (share right)", "ratio"),
    "first_attempt_correct_rate": Label("Right at first attempt", "rate"),
    "discrimination": Label("Discrimination", "ratio"),
    "mean_attempts_to_success": Label("Attempts to success (mean)", "ratio"),
    "response": Label("Response", "text"),
    "is_correct": Label("Correct", "text"),
    # drop-off (marts.program_funnel)
    "step_order": Label("Step", "count"),
    "step_id": Label("Activity", "text"),
    "learners_reached": Label("Learners reached", "count"),
    "launched": Label("Launched", "count"),
    "not_reached": Label("Did not reach", "count"),
    # KPI links (marts.kpi_effects): a change is in the KPI's own unit
    "kpi": Label("KPI", "text"),
    "baseline_learners": Label("Baseline learners", "count"),
    "change": Label("Change", "ratio"),
    "baseline_change": Label("Baseline change", "ratio"),
    "did": Label("Difference in differences", "ratio"),
    # builds (Data quality's recent builds)
    "build_id": Label("Build", "text"),
    "finished_at": Label("Finished (UTC)", "text"),
    "dbt_success": Label("dbt", "text"),
    "gate_success": Label("Expectations", "text"),
    "is_published": Label("Published", "text"),
    "statements": Label("Statements", "count"),
    "quarantined": Label("Quarantined", "count"),
    "failed_checks": Label("Failed checks", "count"),
    # assumptions
    "name": Label("Assumption", "text"),
    "unit": Label("Unit", "text"),
    "description": Label("Description", "text"),
}

# The measures of marts.cohort_comparison, whose value columns take the measure's unit.
MEASURES = {
    "completion_rate": Label("Completion rate", "rate"),
    "mastery_rate": Label("Mastery rate", "rate"),
    "retention_30d_rate": Label("30-day retention", "rate"),
    "median_days_to_competency": Label("Median days to competency", "days"),
}
COMPARED = ("value", "baseline_value", "difference", "ci_low", "ci_high")


def measure(metric: str) -> Label:
    return MEASURES.get(metric, Label(label(metric), "ratio"))


# The ROI assumptions as marts.roi_assumptions names them.
ASSUMPTIONS = {
    "programme_cost_per_learner": "Programme cost per learner",
    "loaded_hourly_cost": "Hourly cost of a learner",
    "value_of_competent_day": "Value of a day sooner at competency",
    "benefit_period_months": "Benefit period",
    "baseline_cohort": "Baseline cohort",
    "kpi_window_days": "KPI window",
    "currency": "Currency",
}
KPI_PREFIX = "kpi_value:"


def label(column: str) -> str:
    """The human label of a column; an unknown column reads as words, never as snake_case."""
    known = LABELS.get(column)
    return known.text if known else column.replace("_", " ").capitalize()


def unit(column: str) -> str:
    known = LABELS.get(column)
    return known.unit if known else "text"


def subject_name(iri: str, names: Mapping[str, str]) -> str:
    """A programme's or skill's name (marts.subject_names), else its IRI's last part as words:
    https://skills.example/data-analysis -> "data analysis"; never the whole IRI."""
    if iri in names:
        return names[iri]
    tail = re.split(r"[/#:]", str(iri).rstrip("/#:"))[-1]
    return tail.replace("-", " ").replace("_", " ") or str(iri)


def assumption_label(name: str) -> str:
    if name.startswith(KPI_PREFIX):
        return f"Value of one unit of {name[len(KPI_PREFIX) :].replace('_', ' ')}"
    return ASSUMPTIONS.get(name, name.replace("_", " ").capitalize())


def symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), f"{currency} ")


def missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def show(value: Any, unit_name: str, currency: str = "USD") -> str:
    """A value in its unit, rounded for it; hidden figures (strings) as they are."""
    if isinstance(value, str):
        return value
    if missing(value):
        return MISSING
    if unit_name == "text":
        return str(value)
    number = float(value)
    if unit_name == "money":
        sign = "−" if round(number) < 0 else ""
        return f"{sign}{symbol(currency)}{abs(number):,.0f}"
    if unit_name == "rate":
        return f"{number * 100:.1f} %"
    if unit_name == "percent":
        return f"{number:.1f} %"
    if unit_name in ("count", "minutes"):
        return f"{number:,.0f}"
    if unit_name in ("days", "hours", "months"):
        return f"{number:,.1f}"
    return f"{number:,.2f}"  # ratio


def show_column(column: str, value: Any, currency: str = "USD") -> str:
    return show(value, unit(column), currency)


def excel_format(unit_name: str, currency: str = "USD") -> str:
    """The XLSX number format of a unit (values stay the marts' numbers)."""
    quoted = symbol(currency).replace('"', "")
    return {
        "money": f'"{quoted}"#,##0;-"{quoted}"#,##0',
        "rate": "0.0%",
        "percent": '0.0" %"',
        "count": "#,##0",
        "minutes": "#,##0",
        "days": "#,##0.0",
        "hours": "#,##0.0",
        "months": "#,##0.0",
        "ratio": "0.00",
    }.get(unit_name, "General")


# Streamlit's own currency formats (thousands separators, the symbol, no cents at step 1).
STREAMLIT_CURRENCIES = {"USD": "dollar", "EUR": "euro", "JPY": "yen"}
# unit -> (Streamlit format, step: the decimals shown)
STREAMLIT_FORMATS = {
    "rate": ("percent", 0.001),  # a share: 0.721 -> 72.1%
    "percent": ("%.1f %%", 0.1),
    "count": ("localized", 1),
    "minutes": ("localized", 1),
    "days": ("localized", 0.1),
    "hours": ("localized", 0.1),
    "months": ("localized", 0.1),
    "ratio": ("localized", 0.01),
}


def column_config(columns: list[str], currency: str = "USD") -> dict[str, Any]:
    """Streamlit column configs: each column's label and its unit's format. Money without a
    Streamlit format of its own names its currency in the label ("Costs (CHF)")."""
    import streamlit as st

    config: dict[str, Any] = {}
    for column in columns:
        unit_name = unit(column)
        if unit_name == "text":
            config[column] = st.column_config.Column(label(column))
        elif unit_name == "money":
            known = STREAMLIT_CURRENCIES.get(currency.upper())
            config[column] = st.column_config.NumberColumn(
                label(column) if known else f"{label(column)} ({currency})",
                format=known or "localized",
                step=1,
            )
        else:
            number_format, step = STREAMLIT_FORMATS[unit_name]
            config[column] = st.column_config.NumberColumn(
                label(column), format=number_format, step=step
            )
    return config


def readable(frame: pd.DataFrame, currency: str = "USD") -> tuple[pd.DataFrame, dict[str, Any]]:
    """A table for st.dataframe and its column configs: each column under its label; a column
    with a missing or hidden figure becomes text in its unit's rounding ("—" where missing, which
    Streamlit would otherwise print as "None"); the others stay numbers, formatted by their
    unit, so they still sort as numbers."""
    import streamlit as st

    shown = frame.copy()
    config = column_config([str(c) for c in frame.columns], currency)
    for column in frame.columns:
        values = frame[column]
        has_gaps = any(isinstance(v, str) or missing(v) for v in values)
        if values.dtype == object or has_gaps:
            shown[column] = values.map(lambda v, c=str(column): show_column(c, v, currency))
            config[column] = st.column_config.TextColumn(label(str(column)))
    return shown, config
