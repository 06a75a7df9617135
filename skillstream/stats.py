"""Cohort comparison statistics (docs/design.md §4): honest 95 % intervals for the marts.

- Differences in proportions (completion rate, retention): Newcombe's hybrid score interval
  (Newcombe 1998, method 10), built from the Wilson score interval of each proportion.
- Differences in medians (days to competency): a seeded percentile bootstrap, resampling
  each group independently.

Pure numpy, deterministic for a given seed, so a rebuild gives identical marts.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson_interval(successes: int, n: int, z: float = Z_95) -> Interval:
    """Wilson score interval of a proportion, without continuity correction."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n], got {successes} of {n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    successes: int, n: int, baseline_successes: int, baseline_n: int, z: float = Z_95
) -> Interval:
    """Difference p - p_baseline of two independent proportions, Newcombe (1998) method 10."""
    first = wilson_interval(successes, n, z)
    second = wilson_interval(baseline_successes, baseline_n, z)
    p1, p2 = first.estimate, second.estimate
    difference = p1 - p2
    low = difference - math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    high = difference + math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(difference, max(-1.0, low), min(1.0, high))


def subject_seed(seed: int, *key: str) -> np.random.SeedSequence:
    """A seed of its own for each comparison, stable across runs and row orders."""
    return np.random.SeedSequence([seed, zlib.crc32("|".join(key).encode())])


_VALUES_PER_CHUNK = 4_000_000  # about 32 MB of resampled values at a time


def _chunks(resamples: int, group_size: int) -> list[int]:
    per_chunk = max(1, _VALUES_PER_CHUNK // group_size)
    return [min(per_chunk, resamples - start) for start in range(0, resamples, per_chunk)]


DIRECT_RESAMPLING_MAX = 2_000  # larger groups draw bootstrap medians from their exact law


def _median_sampler(
    values: npt.NDArray[np.float64],
) -> Callable[[np.random.Generator, int], npt.NDArray[np.float64]]:
    """(rng, count) -> medians of `count` bootstrap resamples of `values`.

    Small groups are resampled directly. For large ones (thousands of learners, or a dashboard
    recomputing on filtered groups) that costs seconds, so the medians are drawn from their
    exact bootstrap distribution instead: the lower median of a resample is at most the j-th
    smallest value exactly when more than half of the n draws fall among the j smallest, a
    binomial event (Efron 1982, the bootstrap of the median). That law is computed once per
    group, not once per chunk of resamples (96k learners: 2.4 s -> 0.05 s).
    """
    if values.size <= DIRECT_RESAMPLING_MAX:
        return lambda rng, count: np.median(rng.choice(values, size=(count, values.size)), axis=1)
    ordered = np.sort(values)
    n = ordered.size
    at_most = binom.sf((n - 1) // 2, n, np.arange(1, n + 1) / n)  # P(median* <= ordered[j])

    def draw(rng: np.random.Generator, count: int) -> npt.NDArray[np.float64]:
        positions = np.searchsorted(at_most, rng.random(count), side="left")
        return np.asarray(ordered[np.minimum(positions, n - 1)], dtype=float)

    return draw


def bootstrap_median_difference(
    values: npt.ArrayLike,
    baseline_values: npt.ArrayLike,
    seed: int | np.random.SeedSequence,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """median(values) - median(baseline_values) with a percentile bootstrap interval."""
    sample = np.asarray(values, dtype=float)
    baseline = np.asarray(baseline_values, dtype=float)
    if sample.size == 0 or baseline.size == 0:
        raise ValueError("both groups need at least one value")
    if resamples < 1:
        raise ValueError("resamples must be positive")
    rng = np.random.default_rng(seed)
    sample_medians, baseline_medians = _median_sampler(sample), _median_sampler(baseline)
    differences = np.concatenate(
        [
            sample_medians(rng, count) - baseline_medians(rng, count)
            for count in _chunks(resamples, max(sample.size, baseline.size))
        ]
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    estimate = float(np.median(sample) - np.median(baseline))
    return Interval(estimate, float(low), float(high))
