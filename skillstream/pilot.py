"""From pilot to decision (docs/pilot.md): plan a pilot, read it out, project it.

- plan: learners per arm for a lift, and the smallest lift a team size can show, from a baseline
  given or read from the published build (the statistics live in skillstream.stats);
- readout: a `[[pilots]]` entry's cohort against its baseline cohort over the window, with the
  95 % interval of the comparison marts' methods, whether it was powered, and a verdict;
- projection: the measured effect, with its interval, scaled to an organisation's headcount.

Everything shown obeys the k rule (dashboards/suppression.py); no Streamlit here, so the CLI,
the Pilot page and the report share it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from skillstream import stats
from skillstream.dashboards import figures, labels
from skillstream.dashboards.figures import Published, query
from skillstream.dashboards.suppression import Figure, Privacy, Shown, fewer_than, suppress
from skillstream.settings import PilotSettings, RoiSettings, Settings


class PilotError(ValueError):
    """A plan or readout that cannot be made, with what to do instead."""


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    table: str  # the learner-grain mart its per-learner outcome is defined in
    subject: str  # the mart's subject column (program_id or skill_id)
    is_rate: bool  # a proportion; else the median of days_to_competency
    reached_at: str | None  # when the outcome is reached (the window applies to it)
    success: str  # the mart's own per-learner outcome


METRICS = {
    "completion": Metric(
        "completion",
        "completion rate",
        "learner_programs",
        "program_id",
        True,
        "completed_at",
        "completed",
    ),
    "mastery": Metric(
        "mastery", "mastery rate", "learner_skills", "skill_id", True, "mastered_at", "mastered"
    ),
    "days_to_competency": Metric(
        "days_to_competency",
        "median days to competency",
        "learner_skills",
        "skill_id",
        False,
        "mastered_at",
        "mastered",
    ),
    "retention_30d": Metric(
        "retention_30d",
        "30-day retention",
        "learner_skills",
        "skill_id",
        True,
        None,
        "retention_30d_retained",
    ),
}


def metric(name: str) -> Metric:
    if name not in METRICS:
        raise PilotError(f"unknown metric {name!r}; one of {', '.join(METRICS)}")
    return METRICS[name]


def lift_text(metric_name: str, lift: float | None) -> str:
    """A lift as people say it: "+20 points" of a rate, "-40 %" of the median days."""
    if lift is None:
        return "none"
    if metric(metric_name).is_rate:
        return f"{lift * 100:+.1f} points"
    return f"{lift * 100:+.0f} % days"


# ---- reading the published build ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """One side of a pilot: its learners and their outcome, per the learner-grain mart."""

    learners: int  # distinct learners
    units: int  # learner x subject pairs judged (one per learner when a subject is chosen)
    successes: int
    success_learners: int
    failure_learners: int
    days: tuple[float, ...]  # days_to_competency of those who reached it within the window

    @property
    def rate(self) -> float:
        return self.successes / self.units if self.units else math.nan


def outcomes(
    build: Published,
    chosen: Metric,
    cohort: str,
    subject: str,
    window_days: int,
    seen_from: datetime | None = None,
    window_end: datetime | None = None,
    quarters: int = 0,
) -> Outcomes:
    """The cohort's learners ("": everyone's) first seen in [seen_from, window_end) (all,
    without them; in the last `quarters` quarters of the mart, 0: all) and their outcome
    reached within window_days of their first statement on the subject and before window_end.
    30-day retention is judged on the learners checked so far, unwindowed: its check needs 30
    days after mastery."""
    reached = (
        "TRUE"
        if chosen.reached_at is None
        else f"{chosen.reached_at} < least(first_seen_at + to_days(?::INTEGER), ?::TIMESTAMP)"
    )
    window = [] if chosen.reached_at is None else [window_days, window_end]
    checked = "retention_30d_checked" if chosen.name == "retention_30d" else "TRUE"
    days_column = "days_to_competency" if chosen.table == "learner_skills" else "NULL::DOUBLE"
    frame = query(
        build,
        f"""
        WITH judged AS (
            SELECT learner_id, coalesce({chosen.success}, FALSE) AND {reached} AS success,
                   CASE WHEN {reached} THEN {days_column} END AS days
            FROM marts.{chosen.table}
            WHERE (?::VARCHAR = '' OR cohort = ?) AND (?::VARCHAR = '' OR {chosen.subject} = ?)
              AND {checked}
              AND first_seen_at >= coalesce(?::TIMESTAMP, first_seen_at)
              AND first_seen_at < coalesce(?::TIMESTAMP, first_seen_at + INTERVAL 1 DAY)
              AND (?::INTEGER = 0 OR quarter >= (
                  SELECT min(quarter) FROM (
                      SELECT DISTINCT quarter FROM marts.{chosen.table}
                      ORDER BY quarter DESC LIMIT greatest(?::INTEGER, 1))))
        )
        SELECT count(DISTINCT learner_id) AS learners, count(*) AS units,
               count(*) FILTER (WHERE success) AS successes,
               count(DISTINCT learner_id) FILTER (WHERE success) AS success_learners,
               count(DISTINCT learner_id) FILTER (WHERE NOT success) AS failure_learners,
               list(days ORDER BY days) FILTER (WHERE success AND days IS NOT NULL) AS days
        FROM judged
        """,
        [
            *window,
            *window,
            cohort,
            cohort,
            subject,
            subject,
            seen_from,
            window_end,
            quarters,
            quarters,
        ],
    )
    row = frame.iloc[0]
    days = row["days"] if isinstance(row["days"], list | np.ndarray) else []
    return Outcomes(
        learners=int(row["learners"]),
        units=int(row["units"]),
        successes=int(row["successes"]),
        success_learners=int(row["success_learners"]),
        failure_learners=int(row["failure_learners"]),
        days=tuple(float(d) for d in days),
    )


def shown_under_k(sides: dict[str, Outcomes], chosen: Metric, k: int) -> bool:
    """Whether the k rule lets these sides be shown: each side k learners, and k on each side
    of the yes/no split (rates) or k who reached competency (days)."""
    basis = ("success_learners", "failure_learners") if chosen.is_rate else ("competent_learners",)
    frame = pd.DataFrame(
        [
            {
                "side": side,
                "learners": o.learners,
                "value": o.rate if chosen.is_rate else _median(o.days),
                "success_learners": o.success_learners,
                "failure_learners": o.failure_learners,
                "competent_learners": len(o.days),
            }
            for side, o in sides.items()
        ]
    )
    shown = suppress(frame, [Figure("value", basis)], k, siblings=("side",))
    return shown.hidden_groups == 0 and not shown.hidden["value"].any()


def _median(days: tuple[float, ...]) -> float:
    return float(np.median(days)) if days else math.nan


# ---- plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    metric: str
    baseline: float  # the rate, or the median days to competency
    lift: float
    power: float
    alpha: float
    per_arm: int | None  # None: not reachable (medians beyond stats.MEDIANS_MAX_PER_ARM)
    method: str
    team_size: int | None = None
    detectable_lift: float | None = None

    def as_json(self) -> dict[str, Any]:
        result = {
            key: value
            for key, value in asdict(self).items()
            if key in ("per_arm", "baseline", "lift", "power", "alpha", "method")
        }
        if self.team_size is not None:
            result["detectable_lift"] = self.detectable_lift
        return result


def plan(
    metric_name: str,
    lift: float,
    baseline: float | tuple[float, ...],
    power: float = 0.8,
    alpha: float = 0.05,
    team_size: int | None = None,
    seed: int = 0,
) -> Plan:
    """Learners per arm to show `lift` with `power` (two-sided `alpha`): a rate's lift is a
    change of the rate; days_to_competency's a relative change of the median, simulated from
    the observed days `baseline`. With `team_size`, also the smallest lift that size shows."""
    chosen = metric(metric_name)
    direction = 1 if lift > 0 else -1
    try:
        if chosen.is_rate:
            rate = float(baseline)  # type: ignore[arg-type]
            per_arm: int | None = stats.proportions_per_arm(rate, lift, power, alpha)
            detectable = team_size and stats.detectable_proportion_lift(
                rate, team_size, power, alpha, direction
            )
            return Plan(
                metric_name,
                rate,
                lift,
                power,
                alpha,
                per_arm,
                stats.FLEISS_METHOD,
                team_size,
                detectable or None,
            )
        days = np.asarray(baseline, dtype=float)
        per_arm = stats.medians_per_arm(days, lift, power, alpha, seed=seed)
        detectable = team_size and stats.detectable_median_lift(
            days, team_size, power, alpha, direction, seed=seed
        )
    except ValueError as error:
        raise PilotError(str(error)) from None
    method = stats.MEDIANS_METHOD.format(pilots=stats.SIMULATED_PILOTS, seed=seed)
    return Plan(
        metric_name,
        float(np.median(days)),
        lift,
        power,
        alpha,
        per_arm,
        method,
        team_size,
        detectable or None,
    )


def baseline_of(
    build: Published,
    metric_name: str,
    cohort: str,
    subject: str,
    window_days: int,
    k: int,
    quarters: int = 0,
) -> float | tuple[float, ...]:
    """The baseline of a plan from the published build: the cohort's ("": all learners') rate
    within the window, or its observed days to competency, over the last `quarters` quarters
    (0: all); refused when it derives from fewer than k learners."""
    chosen = metric(metric_name)
    side = outcomes(build, chosen, cohort, subject, window_days, quarters=quarters)
    if not shown_under_k({"baseline": side}, chosen, k):
        group = f"cohort {cohort!r}" if cohort else "all learners"
        raise PilotError(
            f"the baseline of {chosen.label} in {group} derives from {fewer_than(k)} learners; "
            "give the baseline yourself (--baseline-rate)"
        )
    return side.rate if chosen.is_rate else side.days


# ---- readout -----------------------------------------------------------------------------------

VERDICT_RULES = (
    "scale: the 95 % interval excludes zero in the planned direction, the estimate meets the "
    "planned lift and the pilot was powered for it",
    "stop: the 95 % interval excludes the planned lift (the effect is smaller, or the other way)",
    "extend: anything else: underpowered, the interval straddles zero, or the effect falls "
    "short of the planned lift without excluding it",
)


def verdict(effect: stats.Interval, planned_lift: float, powered: bool) -> tuple[str, str]:
    """(verdict, why) of an effect and its interval in the planned lift's units."""
    sign = 1 if planned_lift > 0 else -1
    estimate, low = sign * effect.estimate, min(sign * effect.low, sign * effect.high)
    high, target = max(sign * effect.low, sign * effect.high), abs(planned_lift)
    if low > 0 and estimate >= target and powered:
        return "scale", "the interval excludes zero and the estimate meets the planned lift"
    if high < target:
        return "stop", "the interval excludes the planned lift"
    if not powered:
        return "extend", "the pilot was not powered for the planned lift"
    if low <= 0:
        return "extend", "the interval includes zero"
    return "extend", "the estimate falls short of the planned lift, which the interval includes"


@dataclass(frozen=True)
class Readout:
    pilot: PilotSettings
    window_end: datetime
    is_complete: bool  # the window has ended by the published build
    k: int
    shown: bool  # the k rule lets it be shown; else none of the figures below is set
    n: int = 0  # the pilot's learners behind the figure (for days: those competent)
    baseline_n: int = 0
    value: float = math.nan
    baseline_value: float = math.nan
    effect: stats.Interval | None = None  # in the metric's units (rate points, days)
    planned_effect: stats.Interval | None = None  # in the lift's units (relative for days)
    power: float = math.nan  # of the pilot's sizes for the planned lift
    verdict: str = ""
    why: str = ""


def readout(build: Published, pilot: PilotSettings, privacy: Privacy, seed: int) -> Readout:
    """The pilot against its baseline over its window, as the published build has it."""
    chosen = metric(pilot.metric)
    start = datetime.combine(pilot.start, datetime.min.time())
    end = start + timedelta(days=pilot.window_days)
    sides = {
        "pilot": outcomes(
            build, chosen, pilot.cohort, pilot.subject, pilot.window_days, start, end
        ),
        "baseline": outcomes(
            build, chosen, pilot.baseline_cohort, pilot.subject, pilot.window_days
        ),
    }
    k = privacy.k_for(("team",), ())  # a pilot is typically one team: the sub-team k
    complete = datetime.fromisoformat(build.built_at).replace(tzinfo=None) >= end
    if not shown_under_k(sides, chosen, k):
        return Readout(pilot, end, complete, k, shown=False)
    return _compare(pilot, end, complete, k, sides["pilot"], sides["baseline"], seed)


def _compare(
    pilot: PilotSettings,
    end: datetime,
    complete: bool,
    k: int,
    side: Outcomes,
    base: Outcomes,
    seed: int,
) -> Readout:
    chosen = METRICS[pilot.metric]
    effective = 2 * side.units * base.units / (side.units + base.units)  # unequal arms
    if chosen.is_rate:
        effect = stats.newcombe_difference(side.successes, side.units, base.successes, base.units)
        planned, value, baseline = effect, side.rate, base.rate
        power = _rate_power(baseline, pilot.lift, effective)
    else:
        key = stats.subject_seed(seed, "pilot", pilot.name)
        effect = stats.bootstrap_median_difference(side.days, base.days, key)
        value, baseline = _median(side.days), _median(base.days)
        planned = stats.Interval(
            *(x / baseline for x in (effect.estimate, effect.low, effect.high))
        )
        arm = 2 * len(side.days) * len(base.days) / (len(side.days) + len(base.days))
        power = (
            stats.medians_power(base.days, pilot.lift, int(arm), seed=seed)
            if arm >= stats.MEDIANS_MIN_PER_ARM
            else 0.0
        )
        side, base = replace(side, units=len(side.days)), replace(base, units=len(base.days))
    powered = power >= PLANNED_POWER
    decision, why = verdict(planned, pilot.lift, powered)
    return Readout(
        pilot,
        end,
        complete,
        k,
        True,
        side.units,
        base.units,
        value,
        baseline,
        effect,
        planned,
        power,
        decision,
        why,
    )


def readout_json(result: Readout) -> dict[str, Any]:
    """A readout as one JSON object; hidden figures are absent, "hidden" says why."""
    entry = {
        "pilot": result.pilot.name,
        "metric": result.pilot.metric,
        "lift": result.pilot.lift,
        "window_end": result.window_end.isoformat(),
        "is_complete": result.is_complete,
    }
    if not result.shown or result.effect is None:
        return {**entry, "hidden": f"{fewer_than(result.k)} learners on a side"}
    e = result.effect
    return {
        **entry,
        "n": result.n,
        "baseline_n": result.baseline_n,
        "value": result.value,
        "baseline_value": result.baseline_value,
        "difference": e.estimate,
        "ci_low": e.low,
        "ci_high": e.high,
        "power": result.power,
        "verdict": result.verdict,
        "why": result.why,
    }


def readout_text(result: Readout) -> str:
    """A readout in one plain paragraph."""
    pilot, label = result.pilot, METRICS[result.pilot.metric].label
    head = f"{pilot.name} ({pilot.cohort} vs {pilot.baseline_cohort}, {label}"
    head += f", window to {result.window_end:%Y-%m-%d}"
    head += ")" if result.is_complete else ", still open)"
    if not result.shown or result.effect is None:
        return f"{head}: not shown, {fewer_than(result.k)} learners on a side"
    e, unit = result.effect, "points" if METRICS[pilot.metric].is_rate else "days"
    scale = 100 if unit == "points" else 1
    return (
        f"{head}: {result.value:.3g} vs {result.baseline_value:.3g} (n {result.n} vs "
        f"{result.baseline_n}); difference {e.estimate * scale:+.1f} {unit} (95 % CI "
        f"{e.low * scale:+.1f} to {e.high * scale:+.1f}); power {result.power:.0%} for the "
        f"planned {lift_text(pilot.metric, pilot.lift)}; verdict: {result.verdict.upper()}, "
        f"{result.why}"
    )


PLANNED_POWER = 0.8  # a pilot is "powered" when its sizes had this power for the planned lift


def _rate_power(baseline: float, lift: float, per_arm: float) -> float:
    try:
        return stats.proportions_power(baseline, lift, per_arm)
    except ValueError:  # baseline + lift outside (0, 1): no pilot can show it
        return 0.0


# ---- projection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    benefit: float
    roi_pct: float
    payback_months: float | None  # None: the benefit does not pay the cost back


@dataclass(frozen=True)
class Projection:
    """The pilot's effect scaled to `headcount` employees for a year; low and high from the
    ends of the effect's 95 % interval, so the case is a band, not one optimistic number."""

    headcount: int
    spend_per_employee: float
    annual_cost: float
    low: Case
    estimate: Case
    high: Case
    assumptions: dict[str, str]


def project(
    headcount: int,
    spend_per_employee: float,
    gain: stats.Interval,
    value_per_unit: float,
    assumptions: dict[str, str],
    kpi_value: stats.Interval | None = None,
) -> Projection:
    """annual cost = headcount x spend; benefit = headcount x (gain per employee x value of a
    unit of gain + KPI value per employee); ROI % = (benefit - cost) / cost x 100; payback =
    cost / (benefit / 12) months. `gain` is per employee and year, in the direction that helps
    (days sooner, more points); `kpi_value` is money per employee and year. The low case takes
    the low end of both intervals and the high case both high ends, so the band is at least as
    wide as either effect's."""
    if headcount < 1 or spend_per_employee <= 0:
        raise PilotError("the headcount and the spend per employee must be positive")
    cost = headcount * spend_per_employee
    kpi = kpi_value or stats.Interval(0.0, 0.0, 0.0)

    def case(gain_per_employee: float, kpi_per_employee: float) -> Case:
        benefit = headcount * (gain_per_employee * value_per_unit + kpi_per_employee)
        payback = cost / (benefit / 12) if benefit > 0 else None
        return Case(benefit, (benefit - cost) / cost * 100, payback)

    low, high = sorted((gain.low, gain.high))
    kpi_low, kpi_high = sorted((kpi.low, kpi.high))
    return Projection(
        headcount,
        spend_per_employee,
        cost,
        case(low, kpi_low),
        case(gain.estimate, kpi.estimate),
        case(high, kpi_high),
        assumptions,
    )


def gain_of(result: Readout) -> stats.Interval:
    """A readout's effect per employee in the direction that helps: days sooner to competency,
    or more of the rate (one employee more reaching it per employee is 1.0)."""
    if result.effect is None:
        raise PilotError("the readout is hidden by the k rule; there is no effect to project")
    sign = -1 if result.pilot.metric == "days_to_competency" else 1
    e = result.effect
    return stats.Interval(sign * e.estimate, sign * e.high, sign * e.low)


# The group sizes are figures too, so they stay beside the effects (the report lists them).
KPI_FIGURES = tuple(
    Figure(column, ("learners", "baseline_learners"))
    for column in (
        "learners",
        "baseline_learners",
        "change",
        "baseline_change",
        "did",
        "ci_low",
        "ci_high",
    )
)


def kpi_effects(build: Published, k: int) -> Shown:
    """marts.kpi_effects after the k rule: a row needs k learners on each side. No total over
    cohorts is shown, so each row stands alone (no complementary suppression)."""
    frame = query(build, "SELECT * FROM marts.kpi_effects ORDER BY kpi, quarter, cohort")
    frame["side_learners"] = frame[["learners", "baseline_learners"]].min(axis=1)
    alone = ("kpi", "quarter", "cohort")
    shown = suppress(frame, KPI_FIGURES, k, group="side_learners", siblings=alone)
    return replace(shown, values=shown.values.drop(columns="side_learners"))


@dataclass(frozen=True)
class KpiValue:
    """kpi_value_of's answer: the yearly money per employee (None: no KPI effect to count),
    the quarter it was read from and the KPIs counted."""

    per_employee: stats.Interval | None
    quarter: str
    kpis: tuple[str, ...]


def kpi_value_of(build: Published, result: Readout, roi: RoiSettings, k: int) -> KpiValue:
    """The money a year per employee of the pilot's KPI effects: each valued KPI's difference in
    differences (marts.kpi_effects, pilot cohort against its baseline, learners who started in
    the quarter of the pilot's start) x its value per unit a day x 365, summed with its 95 %
    interval. KPIs the k rule hides, without a value or without an interval count nothing."""
    quarter = f"{result.pilot.start.year}Q{(result.pilot.start.month - 1) // 3 + 1}"
    if figures.missing_tables(build, "kpi_effects"):
        return KpiValue(None, quarter, ())
    rows = kpi_effects(build, k).table()
    rows = rows[
        (rows["quarter"] == quarter)
        & (rows["cohort"] == result.pilot.cohort)
        & (rows["baseline_cohort"] == result.pilot.baseline_cohort)
        & rows["kpi"].isin(list(roi.kpi_values))
    ].dropna(subset=["did", "ci_low", "ci_high"])
    if rows.empty:
        return KpiValue(None, quarter, ())
    per_year = rows["kpi"].map(roi.kpi_values) * 365
    total = stats.Interval(
        float((rows["did"] * per_year).sum()),
        float((rows["ci_low"] * per_year).sum()),
        float((rows["ci_high"] * per_year).sum()),
    )
    return KpiValue(total, quarter, tuple(sorted(rows["kpi"])))


def default_unit_value(result: Readout, roi: RoiSettings) -> float:
    """The value of one unit of gain: a day sooner at competency is worth the ROI setting
    value_of_competent_day; one more employee reaching the outcome within the window, that
    many competent days (the window's days they would otherwise wait at most)."""
    days = 1 if result.pilot.metric == "days_to_competency" else result.pilot.window_days
    return roi.value_of_competent_day * days


def _amount(value: float, currency: str) -> str:
    """An amount with its currency's symbol, cents only on a small amount that has them."""
    if value == round(value) or abs(value) >= 100:
        return labels.show(value, "money", currency)
    return f"{labels.symbol(currency)}{value:,.2f}"


def projection_of(
    result: Readout,
    headcount: int,
    spend_per_employee: float,
    unit_value: float,
    currency: str,
    kpi: KpiValue | None = None,
) -> Projection:
    """The projection of a readout and of the pilot's KPI effects (kpi_value_of), every
    assumption named (the Pilot and ROI pages, the report)."""
    unit = "day sooner" if result.pilot.metric == "days_to_competency" else "more employee"
    assumptions = {
        "headcount": f"{headcount:,}",
        "spend per employee per year": _amount(spend_per_employee, currency),
        f"value of one {unit} reaching competency": _amount(unit_value, currency),
        "effect per employee and year": (
            f"{result.pilot.name}: {METRICS[result.pilot.metric].label}, pilot vs "
            f"{result.pilot.baseline_cohort}; low and high from its 95 % interval"
        ),
    }
    if kpi is not None and kpi.per_employee is not None:
        value = kpi.per_employee
        assumptions["KPI value per employee and year"] = (
            f"{_amount(value.estimate, currency)} (95 % interval {_amount(value.low, currency)} "
            f"to {_amount(value.high, currency)}): difference in differences of "
            f"{', '.join(kpi.kpis)} against {result.pilot.baseline_cohort}, learners who "
            f"started in {kpi.quarter}, valued by kpi_values x 365 days"
        )
    elif kpi is not None:
        assumptions["KPI value per employee and year"] = (
            f"none counted: no valued KPI effect of {result.pilot.cohort} against "
            f"{result.pilot.baseline_cohort} shown for {kpi.quarter}"
        )
    per_employee = kpi.per_employee if kpi is not None else None
    return project(
        headcount, spend_per_employee, gain_of(result), unit_value, assumptions, per_employee
    )


def published_build(settings: Settings) -> Published:
    """The build the dashboard shows (the last published one), for the CLI."""
    build = figures.published_build(settings)
    if build is None:
        raise PilotError("no build has been published yet; run `skillstream build` first")
    return build
