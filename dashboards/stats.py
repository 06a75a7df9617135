"""Intervals of the cohort comparison (DESIGN §4), computed from counts at query time.

Filters change the groups, so the dashboard cannot read fixed intervals from a mart: it
recomputes them here from the filtered counts with the same methods the mart uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import binom

Z95 = 1.959963984540054
DIRECT_RESAMPLING_MAX = 2_000  # larger samples draw bootstrap medians from their exact law


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    successes: int, n: int, baseline_successes: int, baseline_n: int, z: float = Z95
) -> tuple[float, float, float]:
    """(difference, low, high) of p - p_baseline: Newcombe's hybrid score interval (method 10)."""
    if n == 0 or baseline_n == 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = successes / n, baseline_successes / baseline_n
    l1, u1 = wilson(successes, n, z)
    l2, u2 = wilson(baseline_successes, baseline_n, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (difference, low, high)


def bootstrap_median_difference(
    values: Sequence[float],
    baseline_values: Sequence[float],
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(difference, low, high) of median(values) - median(baseline): 95 % percentile bootstrap."""
    a = np.asarray(values, dtype=float)
    b = np.asarray(baseline_values, dtype=float)
    if a.size == 0 or b.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    medians_a = _resampled_medians(a, resamples, rng)
    medians_b = _resampled_medians(b, resamples, rng)
    low, high = np.percentile(medians_a - medians_b, [2.5, 97.5])
    return (float(np.median(a) - np.median(b)), float(low), float(high))


def completion_verdict(
    cohort: str, baseline: str, difference: float, low: float, high: float, verb: str = "completes"
) -> str:
    """A plain-language sentence: "pilot completes 50 points more (95 % CI 29–65)"."""
    points, low_points, high_points = (round(x * 100) for x in (difference, low, high))
    direction = "more" if points >= 0 else "fewer"
    sentence = (
        f"{cohort} {verb} {abs(points)} points {direction} than {baseline} "
        f"(95 % CI {low_points}–{high_points})"
    )
    if low <= 0 <= high:
        sentence += f"; the data cannot tell it apart from {baseline}"
    return sentence


def _resampled_medians(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of `resamples` bootstrap resamples.

    Small samples are resampled directly. For large ones that costs seconds, so the medians
    are drawn from their exact bootstrap distribution instead: the (lower) median of a
    resample is at most the j-th smallest value exactly when more than half of the n draws
    fall among the j smallest, a binomial event (Efron 1982, the bootstrap of the median).
    """
    if values.size <= DIRECT_RESAMPLING_MAX:
        return np.median(rng.choice(values, size=(resamples, values.size)), axis=1)
    ordered = np.sort(values)
    n = ordered.size
    at_most = binom.sf((n - 1) // 2, n, np.arange(1, n + 1) / n)  # P(median* <= ordered[j])
    positions = np.searchsorted(at_most, rng.random(resamples), side="left")
    return ordered[np.minimum(positions, n - 1)]
