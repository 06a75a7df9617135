"""Plain-language verdicts of a cohort comparison, for L&D leaders.

The intervals themselves come from skillstream.stats, the one home of the comparison's
statistics, so the page and the marts use the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skillstream import stats
from skillstream.settings import Settings


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


def days_sooner(shift: float, low: float, high: float) -> str:
    """A median shift in days as a reader says it: "9.7 days sooner (95 % CI 8.1 to 11.4 days
    sooner)", never a negative interval a reader has to turn around."""
    word = "sooner" if shift < 0 else "later"
    if high < 0:
        interval = f"{-high:.1f} to {-low:.1f} days sooner"
    elif low > 0:
        interval = f"{low:.1f} to {high:.1f} days later"
    else:
        interval = f"{-low:.1f} days sooner to {high:.1f} days later"
    return f"{abs(shift):.1f} days {word} (95 % CI {interval})"


@dataclass(frozen=True)
class KpiStatus:
    """One KPI of the landing verdict: its phrase, whether it meets its target (None: hidden or
    no target) and whether the pilot is clearly better (+1), clearly worse (-1) or neither (0)
    than the baseline, by the interval of the difference."""

    name: str
    phrase: str
    on_target: bool | None
    lift: int


def lift_of(low: float, high: float, higher_is_better: bool = True) -> int:
    """+1 when the whole interval favours the pilot, -1 when it all disfavours it, else 0."""
    if low > 0 or high < 0:
        return 1 if (low > 0) == higher_is_better else -1
    return 0


def pilot_headline(kpis: list[KpiStatus]) -> str:
    """ "Yes — completion 75 % vs 27 %, …; retention still below target" for the landing page.

    Yes: some KPI clearly better than the baseline and none clearly worse; No: none clearly
    better; Mixed: some clearly better and some clearly worse."""
    lifts = [k.lift for k in kpis]
    answer = ("Mixed" if -1 in lifts else "Yes") if 1 in lifts else "No"
    headline = f"{answer} — " + ", ".join(k.phrase for k in kpis if k.phrase)
    below = [k.name for k in kpis if k.on_target is False]
    if below:
        verb = "is" if len(below) == 1 else "are"
        headline += f"; {' and '.join(below)} {verb} still below target"
    return headline


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def _rate_status(
    name: str, side: tuple[Any, Any], columns: tuple[str, str, str], target: float
) -> KpiStatus | None:
    """A rate's status; (rate, successes, n) columns of the pilot's and the baseline's rows."""
    pilot, baseline = side
    rate, successes, n = columns
    if any(pd.isna(row[c]) for row in side for c in columns) or not pilot[n] or not baseline[n]:
        return None
    difference = stats.newcombe_difference(
        int(pilot[successes]), int(pilot[n]), int(baseline[successes]), int(baseline[n])
    )
    return KpiStatus(
        name,
        f"{name} {_percent(pilot[rate])} vs {_percent(baseline[rate])}",
        bool(pilot[rate] >= target),
        lift_of(difference.low, difference.high),
    )


def _days_status(pilot: Any, baseline: Any, target: float, seed: Any, resamples: int) -> KpiStatus:
    days, base_days = pilot["days_to_competency"], baseline["days_to_competency"]
    if not _has_values(days) or not _has_values(base_days):
        return KpiStatus("days to competency", "", None, 0)
    shift = stats.bootstrap_median_difference(days, base_days, seed=seed, resamples=resamples)
    word = "sooner" if shift.estimate < 0 else "later"
    return KpiStatus(
        "days to competency",
        f"competent ~{abs(shift.estimate):.0f} days {word}",
        bool(pilot["median_days_to_competency"] <= target),
        lift_of(shift.low, shift.high, higher_is_better=False),
    )


def _with_pairs(row: Any) -> Any:
    """The learner × skill pairs a mastery rate is over (mastered / rate; unknown at 0 %)."""
    row = row.copy()
    rate = row["mastery_rate"]
    row["pairs"] = round(row["mastered"] / rate) if not pd.isna(rate) and rate > 0 else np.nan
    return row


def _has_values(days: Any) -> bool:
    return isinstance(days, list | tuple | np.ndarray) and len(days) > 0


def pilot_kpis(
    programs: tuple[Any, Any],
    skills: tuple[Any, Any],
    roi: Any | None,
    settings: Settings,
) -> list[KpiStatus]:
    """The landing verdict's KPIs, capability first: (pilot, baseline) rows of the cohort
    figures (views.cohorts after the k rule), and the pilot's published ROI row (or None).
    Rates are pooled over programs (skills), so a learner in two counts twice; the Pilot vs
    control page holds the per-program intervals."""
    skills = tuple(_with_pairs(row) for row in skills)
    pilot, baseline = skills
    seed = stats.subject_seed(settings.comparison_seed, str(pilot["cohort"]), "landing")
    kpis = [
        _days_status(
            pilot,
            baseline,
            settings.target_median_days_to_competency,
            seed,
            settings.comparison_resamples,
        ),
        _rate_status(
            "mastery", skills, ("mastery_rate", "mastered", "pairs"), settings.target_mastery_rate
        ),
        _rate_status(
            "retention",
            skills,
            ("retention_30d_rate", "retained", "retention_checked"),
            settings.target_retention_30d_rate,
        ),
        _rate_status(
            "completion",
            programs,
            ("completion_rate", "completed", "enrolments"),
            settings.target_completion_rate,
        ),
    ]
    if roi is not None and not pd.isna(roi["roi_pct"]):
        payback = roi["payback_months"]
        phrase = f"ROI {roi['roi_pct']:.0f} %"
        if not pd.isna(payback):
            phrase += f", payback ~{payback:.0f} months"
        kpis.append(KpiStatus("ROI", phrase, bool(roi["roi_pct"] >= settings.target_roi_pct), 0))
    return [k for k in kpis if k is not None]


def efficiency_sentence(
    cohort: str, baseline: str, minutes: tuple[float, float], mastery: tuple[float, float]
) -> str | None:
    """When a cohort spent less seat time than the baseline and mastered more, say so; the
    point of a pilot is often to teach more with less time. None otherwise."""
    (spent, base_spent), (rate, base_rate) = minutes, mastery
    if not (spent < base_spent and rate > base_rate):
        return None
    return (
        f"{cohort} spent {spent:,.0f} active minutes against {base_spent:,.0f} for {baseline} "
        f"({1 - spent / base_spent:.0%} less seat time) and mastered more: "
        f"{_percent(rate)} vs {_percent(base_rate)}. Less time, more mastery."
    )
