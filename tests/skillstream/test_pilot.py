"""Planning a pilot (sample size, power, detectable lift), the `[[pilots]]` settings, the
readout's verdicts and the organisation-wide projection (docs/pilot.md)."""

from __future__ import annotations

import numpy as np
import pytest

from skillstream.stats import (
    bootstrap_median_difference,
    detectable_median_lift,
    detectable_proportion_lift,
    medians_per_arm,
    medians_power,
    proportions_per_arm,
    proportions_power,
)

# Fleiss, Levin & Paik (2003), Statistical Methods for Rates and Proportions, 3rd ed., Table A.4
# (sample size per group, two-sided alpha = 0.05, continuity-corrected), entries for
# (p1, p2) at power 0.80 and 0.90. Each value was checked by evaluating eq. 4.14/4.19 by hand.
FLEISS_TABLE_A4 = [
    ((0.05, 0.10), 474, 621),
    ((0.10, 0.20), 219, 286),
    ((0.20, 0.40), 91, 119),
    ((0.30, 0.50), 103, 134),
    ((0.40, 0.60), 107, 140),
]


@pytest.mark.parametrize(("rates", "at_80", "at_90"), FLEISS_TABLE_A4)
def test_sample_size_matches_the_published_table(rates, at_80, at_90) -> None:
    p1, p2 = rates
    assert proportions_per_arm(p1, p2 - p1, power=0.8) == at_80
    assert proportions_per_arm(p1, p2 - p1, power=0.9) == at_90
    # a fall is planned like the rise it mirrors
    assert proportions_per_arm(1 - p1, p1 - p2, power=0.8) == at_80


def _yates_test_power(baseline: float, lift: float, per_arm: int, pilots: int, seed: int) -> float:
    """Share of simulated pilots in which the continuity-corrected chi-square test (the test
    the formula plans for) rejects at alpha = 0.05."""
    rng = np.random.default_rng(seed)
    control = rng.binomial(per_arm, baseline, pilots) / per_arm
    pilot = rng.binomial(per_arm, baseline + lift, pilots) / per_arm
    pooled = (control + pilot) / 2
    spread = np.sqrt(pooled * (1 - pooled) * 2 / per_arm)
    statistic = (np.abs(pilot - control) - 1 / per_arm) / np.where(spread > 0, spread, np.inf)
    return float(np.mean(statistic > 1.959963984540054))


@pytest.mark.parametrize(("baseline", "lift"), [(0.4, 0.2), (0.1, 0.1), (0.7, -0.25)])
def test_planned_size_reaches_the_stated_power_in_simulated_pilots(baseline, lift) -> None:
    per_arm = proportions_per_arm(baseline, lift, power=0.8)
    simulated = _yates_test_power(baseline, lift, per_arm, pilots=20_000, seed=24)
    assert simulated == pytest.approx(0.8, abs=0.03)
    assert proportions_power(baseline, lift, per_arm) == pytest.approx(0.8, abs=0.01)


def test_detectable_lift_is_the_lift_the_team_size_is_planned_for() -> None:
    lift = detectable_proportion_lift(0.3, per_arm=103)
    assert lift == pytest.approx(0.2, abs=0.002)
    assert detectable_proportion_lift(0.7, per_arm=103, direction=-1) == pytest.approx(
        -0.2, abs=0.002
    )
    assert detectable_proportion_lift(0.5, per_arm=3) is None  # not even 0.5 -> 1.0


@pytest.mark.parametrize(("baseline", "lift"), [(0.0, 0.1), (0.5, 0.0), (0.9, 0.2), (1.2, -0.1)])
def test_impossible_plans_are_refused_with_the_reason(baseline, lift) -> None:
    with pytest.raises(ValueError, match=r"baseline rate|lift"):
        proportions_per_arm(baseline, lift)


def _days(seed: int = 1, size: int = 300) -> np.ndarray:
    return np.random.default_rng(seed).gamma(4.0, 5.0, size=size)  # days to competency


def test_median_plan_reaches_its_power_with_fresh_simulated_pilots() -> None:
    days = _days()
    per_arm = medians_per_arm(days, -0.4, power=0.8, seed=0)
    assert per_arm is not None and 10 < per_arm < 60
    assert (
        medians_power(days, -0.4, per_arm - 1, seed=0)
        < 0.8
        <= medians_power(days, -0.4, per_arm, seed=0)
    )
    assert medians_power(days, -0.4, per_arm, pilots=4000, seed=99) == pytest.approx(0.8, abs=0.03)


def test_median_plan_holds_for_the_readouts_bootstrap_interval() -> None:
    """The readout judges days to competency by the bootstrap interval of the difference in
    medians (skillstream.stats, as the mart): the planned size shows the lift in about the
    planned share of 1,000 simulated pilots judged that way."""
    days = _days()
    per_arm = medians_per_arm(days, -0.4, power=0.8, seed=0)
    rng = np.random.default_rng(7)
    shown = 0
    for pilot in range(1000):
        baseline = rng.choice(days, per_arm)
        treated = rng.choice(days, per_arm) * 0.6
        interval = bootstrap_median_difference(treated, baseline, seed=pilot, resamples=500)
        shown += interval.high < 0
    assert shown / 1000 == pytest.approx(0.8, abs=0.05)


def test_detectable_median_lift_at_the_planned_size_is_the_planned_lift() -> None:
    days = _days()
    per_arm = medians_per_arm(days, -0.3, power=0.8, seed=0)
    assert detectable_median_lift(days, per_arm, seed=0) == pytest.approx(-0.3, abs=0.02)
    assert detectable_median_lift(days, 5, seed=0) is None
    with pytest.raises(ValueError, match="6 learners per arm"):
        medians_power(days, -0.3, 5)
