"""What-if ROI (Phillips, docs/design.md §4) for the ROI page and the report's sensitivity view.

The formula's home is the mart `roi_quarterly` (dbt, per learner, in SQL). It publishes each
cohort's cost and benefit components next to the assumptions it used (`roi_assumptions`).
Every component is linear in one assumption, so this module recomputes ROI for edited
assumptions by rescaling the published components; with the published assumptions it gives
the mart's numbers exactly (tested).

Two rescalings are exact only under a simplification, and the page says so: the hourly cost
scales every learner's hourly cost by the same factor (the roster's own hourly costs included),
and several KPI values scale the KPI-linked gains by their summed ratio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Assumption (as marts.roi_assumptions names it) -> the label of its input on the ROI page.
EDITABLE = {
    "programme_cost_per_learner": "Programme cost per learner",
    "loaded_hourly_cost": "Hourly cost of a learner",
    "value_of_competent_day": "Value of a competent day",
    "benefit_period_months": "Benefit period (months)",
}
KPI_PREFIX = "kpi_value:"


@dataclass(frozen=True)
class RoiComponents:
    """One row of marts.roi_quarterly: a cohort's cost and benefit components in a quarter."""

    cohort: str
    learners: int
    programme_cost: float
    seat_time_cost: float
    seat_time_saved_value: float
    competency_days_value: float
    kpi_value: float


@dataclass(frozen=True)
class RoiResult:
    cohort: str
    learners: int
    costs: float
    benefits: float
    net_benefit: float
    roi_pct: float | None
    bcr: float | None
    payback_months: float | None


def editable(assumptions: Mapping[str, float]) -> dict[str, float]:
    """The published assumptions a leader can change on the page."""
    return {
        name: value
        for name, value in assumptions.items()
        if name in EDITABLE or name.startswith(KPI_PREFIX)
    }


def _ratio(new: float, old: float) -> float:
    return new / old if old else 1.0


def compute_roi(
    row: RoiComponents, published: Mapping[str, float], edited: Mapping[str, float]
) -> RoiResult:
    """ROI of one cohort when the assumptions change from `published` to `edited`."""

    def value(name: str) -> float:
        return float(edited.get(name, published[name]))

    hourly = _ratio(value("loaded_hourly_cost"), published["loaded_hourly_cost"])
    days = _ratio(value("value_of_competent_day"), published["value_of_competent_day"])
    period = _ratio(value("benefit_period_months"), published["benefit_period_months"])
    kpi_names = [n for n in published if n.startswith(KPI_PREFIX)]
    kpi = (
        _ratio(sum(value(n) for n in kpi_names), sum(published[n] for n in kpi_names))
        if kpi_names
        else 1.0
    )
    programme = _ratio(value("programme_cost_per_learner"), published["programme_cost_per_learner"])
    costs = row.programme_cost * programme + row.seat_time_cost * hourly
    benefits = (
        row.seat_time_saved_value * hourly
        + row.competency_days_value * days
        + row.kpi_value * kpi * period  # KPI gains accrue over the benefit period
    )
    months = value("benefit_period_months")
    return RoiResult(
        cohort=row.cohort,
        learners=row.learners,
        costs=costs,
        benefits=benefits,
        net_benefit=benefits - costs,
        roi_pct=(benefits - costs) / costs * 100 if costs else None,
        bcr=benefits / costs if costs else None,
        payback_months=costs / (benefits / months) if benefits > 0 and months else None,
    )


def scenario(
    rows: list[RoiComponents], published: Mapping[str, float], edited: Mapping[str, float]
) -> list[RoiResult]:
    """Each cohort's ROI with the edited assumptions: what the ROI page shows and what its
    downloads carry as the scenario."""
    return [compute_roi(row, published, edited) for row in rows]


def sensitivity(
    row: RoiComponents,
    published: Mapping[str, float],
    edited: Mapping[str, float],
    swing: float = 0.5,
) -> list[tuple[str, float | None, float | None]]:
    """(assumption, ROI% at -swing, ROI% at +swing), each assumption moved alone: a tornado."""
    bars = []
    for name in editable(published):
        current = float(edited.get(name, published[name]))
        low = compute_roi(row, published, {**edited, name: current * (1 - swing)}).roi_pct
        high = compute_roi(row, published, {**edited, name: current * (1 + swing)}).roi_pct
        bars.append((name, low, high))
    return bars
