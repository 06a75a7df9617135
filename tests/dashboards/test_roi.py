"""The what-if ROI: the mart's numbers back with the published assumptions, linear changes."""

from __future__ import annotations

import pytest

from skillstream.dashboards.roi import RoiComponents, compute_roi, sensitivity

PUBLISHED = {
    "programme_cost_per_learner": 1500.0,
    "loaded_hourly_cost": 60.0,
    "value_of_competent_day": 250.0,
    "benefit_period_months": 12.0,
    "kpi_value:tickets_closed": 2.5,
}
PILOT = RoiComponents("pilot", 40, 60000.0, 7440.0, -2640.0, 97080.0, 2000.0)


def test_published_assumptions_give_the_marts_numbers() -> None:
    result = compute_roi(PILOT, PUBLISHED, PUBLISHED)
    assert (result.costs, result.benefits) == (67440.0, 96440.0)
    assert result.roi_pct == pytest.approx(29000 / 67440 * 100)
    assert result.bcr == pytest.approx(96440 / 67440)
    assert result.payback_months == pytest.approx(67440 / (96440 / 12))


def test_each_assumption_moves_its_own_component() -> None:
    doubled_hourly = compute_roi(PILOT, PUBLISHED, {"loaded_hourly_cost": 120.0})
    assert doubled_hourly.costs == 60000 + 2 * 7440
    assert doubled_hourly.benefits == 2 * -2640 + 97080 + 2000
    half_day = compute_roi(PILOT, PUBLISHED, {"value_of_competent_day": 125.0})
    assert half_day.benefits == -2640 + 97080 / 2 + 2000
    longer = compute_roi(PILOT, PUBLISHED, {"benefit_period_months": 24.0})
    assert longer.benefits == -2640 + 97080 + 4000  # KPI gains accrue over the period
    assert longer.payback_months == pytest.approx(67440 / ((-2640 + 97080 + 4000) / 24))


def test_no_benefit_means_no_payback() -> None:
    control = RoiComponents("control", 36, 54000.0, 4800.0, 0.0, 0.0, 0.0)
    result = compute_roi(control, PUBLISHED, PUBLISHED)
    assert result.roi_pct == -100.0
    assert result.payback_months is None


def test_sensitivity_moves_one_assumption_at_a_time() -> None:
    bars = {name: (low, high) for name, low, high in sensitivity(PILOT, PUBLISHED, PUBLISHED)}
    assert set(bars) == set(PUBLISHED)
    low, high = bars["programme_cost_per_learner"]
    assert low == pytest.approx((96440 - 37440) / 37440 * 100)
    assert high == pytest.approx((96440 - 97440) / 97440 * 100)
