"""The cohort comparison statistics against published values, and their coverage."""

from __future__ import annotations

import numpy as np
import pytest

from skillstream.stats import (
    bootstrap_median_difference,
    newcombe_difference,
    subject_seed,
    wilson_interval,
)

# Newcombe (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Statistics in Medicine 17:873-890, Table II, method 10.
NEWCOMBE_1998_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_1998_METHOD_10)
def test_newcombe_matches_the_published_worked_examples(counts, expected) -> None:
    interval = newcombe_difference(*counts)
    assert interval.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (round(interval.low, 4), round(interval.high, 4)) == expected


def test_wilson_matches_newcombe_1998_single_proportion_example() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", 81/263.
    interval = wilson_interval(81, 263)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="positive"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match=r"\[0, n\]"):
        wilson_interval(5, 4)


def test_bootstrap_is_deterministic_by_seed_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(1)
    pilot, control = rng.exponential(10, 40), rng.exponential(20, 60)
    first = bootstrap_median_difference(pilot, control, seed=subject_seed(7, "pilot", "s1"))
    again = bootstrap_median_difference(pilot, control, seed=subject_seed(7, "pilot", "s1"))
    other = bootstrap_median_difference(pilot, control, seed=subject_seed(7, "pilot", "s2"))
    assert first == again
    assert other != first
    assert first.estimate == pytest.approx(np.median(pilot) - np.median(control))
    assert first.low < first.estimate < first.high


def test_bootstrap_of_identical_constant_groups_is_a_point() -> None:
    interval = bootstrap_median_difference([3.0] * 5, [1.0] * 7, seed=0, resamples=50)
    assert (interval.estimate, interval.low, interval.high) == (2.0, 2.0, 2.0)


def test_bootstrap_needs_values_on_both_sides() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_median_difference([], [1.0], seed=0)


PILOTS = 300


def test_newcombe_intervals_cover_the_true_difference_90_to_98_percent() -> None:
    """Simulated pilots with a known true difference in completion rate (0.75 vs 0.25 and
    a range of others): the 95 % intervals must cover it 90-98 % of the time."""
    rng = np.random.default_rng(20260701)
    covered = 0
    for _ in range(PILOTS):
        p_pilot, p_control = rng.uniform(0.1, 0.9, size=2)
        n_pilot, n_control = rng.integers(30, 120, size=2)
        interval = newcombe_difference(
            int(rng.binomial(n_pilot, p_pilot)),
            int(n_pilot),
            int(rng.binomial(n_control, p_control)),
            int(n_control),
        )
        covered += interval.low <= p_pilot - p_control <= interval.high
    assert 0.90 <= covered / PILOTS <= 0.98, f"coverage {covered / PILOTS:.3f}"


def test_bootstrap_intervals_cover_the_true_median_difference_90_to_98_percent() -> None:
    """Days to competency drawn from log-normal distributions with known medians (pilot
    half the control's, as in the literature): 95 % intervals cover 90-98 %."""
    rng = np.random.default_rng(20260702)
    covered = 0
    for pilot_index in range(PILOTS):
        control_median = rng.uniform(10, 40)
        pilot_median = control_median * rng.uniform(0.3, 1.0)
        pilot = pilot_median * rng.lognormal(0.0, 0.6, size=int(rng.integers(60, 150)))
        control = control_median * rng.lognormal(0.0, 0.6, size=int(rng.integers(60, 150)))
        interval = bootstrap_median_difference(
            pilot, control, seed=subject_seed(1, str(pilot_index)), resamples=1000
        )
        covered += interval.low <= pilot_median - control_median <= interval.high
    assert 0.90 <= covered / PILOTS <= 0.98, f"coverage {covered / PILOTS:.3f}"


def test_bootstrap_in_chunks_is_deterministic_and_uses_every_resample(monkeypatch) -> None:
    """Large groups are resampled a chunk at a time, so memory stays bounded."""
    from skillstream import stats

    monkeypatch.setattr(stats, "_VALUES_PER_CHUNK", 1000)  # 100 values: 10 resamples a chunk
    assert stats._chunks(2005, 100) == [10] * 200 + [5]
    rng = np.random.default_rng(3)
    pilot, control = rng.normal(5, 1, 100), rng.normal(6, 1, 80)
    first = bootstrap_median_difference(pilot, control, seed=4, resamples=2005)
    assert first == bootstrap_median_difference(pilot, control, seed=4, resamples=2005)
    assert first.low < first.estimate < first.high < 0


def test_large_groups_draw_medians_from_their_exact_bootstrap_law(monkeypatch) -> None:
    from skillstream import stats

    rng = np.random.default_rng(1)
    values = rng.exponential(10.0, size=stats.DIRECT_RESAMPLING_MAX + 1)
    baseline = rng.exponential(20.0, size=stats.DIRECT_RESAMPLING_MAX + 1)
    exact = bootstrap_median_difference(values, baseline, seed=3, resamples=4000)
    monkeypatch.setattr(stats, "DIRECT_RESAMPLING_MAX", 10**9)  # force direct resampling
    resampled = bootstrap_median_difference(values, baseline, seed=3, resamples=4000)
    assert exact.estimate == resampled.estimate
    assert exact.low == pytest.approx(resampled.low, abs=0.4)
    assert exact.high == pytest.approx(resampled.high, abs=0.4)


def test_difference_in_differences_recovers_a_planted_effect_within_its_interval() -> None:
    from skillstream.stats import bootstrap_difference_in_differences

    rng = np.random.default_rng(11)
    covered = 0
    for trial in range(200):
        pilot = rng.normal(3.0 + 1.5, 2.0, 60)  # the trend both share (3) plus the effect
        control = rng.normal(3.0, 2.0, 80)
        interval = bootstrap_difference_in_differences(pilot, control, seed=trial, resamples=500)
        covered += interval.low <= 1.5 <= interval.high
        assert interval.estimate == pytest.approx(pilot.mean() - control.mean())
    assert covered / 200 == pytest.approx(0.95, abs=0.04)
