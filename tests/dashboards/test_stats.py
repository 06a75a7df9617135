"""Intervals of the cohort comparison, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from skillstream.dashboards.stats import (
    bootstrap_median_difference,
    completion_verdict,
    newcombe_difference,
    wilson,
)


def test_wilson_interval() -> None:
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert math.isnan(wilson(0, 0)[0])


def test_newcombe_difference() -> None:
    # Newcombe (1998), table II example (method 10): 56/70 vs 48/80 -> 0.0524 to 0.3339
    difference, low, high = newcombe_difference(56, 70, 48, 80)
    assert difference == pytest.approx(0.2)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_bootstrap_median_difference_covers_the_shift() -> None:
    values = [10.0 + i % 5 for i in range(200)]
    baseline = [20.0 + i % 5 for i in range(200)]
    difference, low, high = bootstrap_median_difference(values, baseline)
    assert difference == -10.0
    assert low <= -10.0 <= high and high - low <= 3


def test_verdict_in_plain_language() -> None:
    assert completion_verdict("pilot", "control", 0.5, 0.29, 0.65) == (
        "pilot completes 50 points more than control (95 % CI 29–65)"
    )
    assert "cannot tell it apart" in completion_verdict("pilot", "control", 0.05, -0.02, 0.1)


def test_large_samples_draw_medians_from_their_exact_bootstrap_law() -> None:
    import numpy as np

    from skillstream.dashboards import stats

    rng = np.random.default_rng(1)
    values = rng.exponential(10.0, size=stats.DIRECT_RESAMPLING_MAX + 1)
    baseline = rng.exponential(20.0, size=stats.DIRECT_RESAMPLING_MAX + 1)
    exact = bootstrap_median_difference(values, baseline, resamples=4000)
    direct = stats.DIRECT_RESAMPLING_MAX
    try:
        stats.DIRECT_RESAMPLING_MAX = 10**9  # force direct resampling for comparison
        resampled = bootstrap_median_difference(values, baseline, resamples=4000)
    finally:
        stats.DIRECT_RESAMPLING_MAX = direct
    assert exact[0] == resampled[0]
    assert exact[1] == pytest.approx(resampled[1], abs=0.4)
    assert exact[2] == pytest.approx(resampled[2], abs=0.4)
