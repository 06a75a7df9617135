"""The ROI formula (Phillips, DESIGN §4): one home for the ROI page and the report.

`marts.roi_quarterly` holds the published numbers; this module recomputes ROI from the
marts' inputs (learners, seat time, completions, mastery, days to competency per cohort)
so the ROI page can answer "what if" when a leader edits an assumption, and the report can
show the sensitivity of the result to each assumption.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Assumptions the formula uses, with the value used when marts.roi_assumptions lacks one.
DEFAULT_ASSUMPTIONS: dict[str, float] = {
    "spend_per_learner": 400.0,  # programme cost per enrolled learner
    "hourly_cost": 55.0,  # loaded cost of one hour of a learner's time
    "value_of_competent_day": 120.0,  # value of reaching competency one day sooner
    "kpi_gain_per_completer": 0.0,  # KPI-linked gain per learner who completed
    "benefit_months": 12.0,  # months over which the benefits accrue (for payback)
}
ASSUMPTION_UNITS = {
    "spend_per_learner": "currency / learner",
    "hourly_cost": "currency / hour",
    "value_of_competent_day": "currency / learner-day",
    "kpi_gain_per_completer": "currency / completer",
    "benefit_months": "months",
}


@dataclass(frozen=True)
class CohortInputs:
    cohort: str
    learners: int
    seat_time_hours: float
    completed: int
    learners_mastered: int
    median_days_to_competency: float | None


@dataclass(frozen=True)
class RoiResult:
    cohort: str
    learners: int
    programme_cost: float
    seat_time_cost: float
    seat_time_saved_value: float
    competency_days_value: float
    kpi_gains: float
    costs: float
    benefits: float
    net_benefit: float
    roi_pct: float | None
    bcr: float | None
    payback_months: float | None


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def compute_roi(
    inputs: CohortInputs, baseline: CohortInputs | None, assumptions: Mapping[str, float]
) -> RoiResult:
    """ROI of one cohort against the baseline cohort under these assumptions."""
    a = {**DEFAULT_ASSUMPTIONS, **assumptions}
    programme_cost = inputs.learners * a["spend_per_learner"]
    seat_time_cost = inputs.seat_time_hours * a["hourly_cost"]
    seat_time_saved = 0.0
    days_value = 0.0
    if baseline is not None and baseline.learners and inputs.learners:
        hours_saved_per_learner = (
            baseline.seat_time_hours / baseline.learners - inputs.seat_time_hours / inputs.learners
        )
        seat_time_saved = hours_saved_per_learner * inputs.learners * a["hourly_cost"]
        if _known(baseline.median_days_to_competency) and _known(inputs.median_days_to_competency):
            days_gained = baseline.median_days_to_competency - inputs.median_days_to_competency  # type: ignore[operator]
            days_value = days_gained * inputs.learners_mastered * a["value_of_competent_day"]
    kpi_gains = inputs.completed * a["kpi_gain_per_completer"]
    costs = programme_cost + seat_time_cost
    benefits = seat_time_saved + days_value + kpi_gains
    monthly_benefit = benefits / a["benefit_months"] if a["benefit_months"] else 0.0
    return RoiResult(
        cohort=inputs.cohort,
        learners=inputs.learners,
        programme_cost=programme_cost,
        seat_time_cost=seat_time_cost,
        seat_time_saved_value=seat_time_saved,
        competency_days_value=days_value,
        kpi_gains=kpi_gains,
        costs=costs,
        benefits=benefits,
        net_benefit=benefits - costs,
        roi_pct=(benefits - costs) / costs * 100 if costs else None,
        bcr=benefits / costs if costs else None,
        payback_months=costs / monthly_benefit if monthly_benefit > 0 else None,
    )


def sensitivity(
    inputs: CohortInputs,
    baseline: CohortInputs | None,
    assumptions: Mapping[str, float],
    swing: float = 0.5,
) -> list[tuple[str, float | None, float | None]]:
    """(assumption, ROI% at -swing, ROI% at +swing) for each assumption: a tornado chart's bars."""
    bars = []
    for name in {**DEFAULT_ASSUMPTIONS, **assumptions}:
        value = {**DEFAULT_ASSUMPTIONS, **assumptions}[name]
        low = compute_roi(inputs, baseline, {**assumptions, name: value * (1 - swing)}).roi_pct
        high = compute_roi(inputs, baseline, {**assumptions, name: value * (1 + swing)}).roi_pct
        bars.append((name, low, high))
    return bars
