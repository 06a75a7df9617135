"""Each KPI's difference in differences, per quarter and cohort against the baseline cohort
(marts.kpi_effects).

A learner's change of a KPI is its mean over the window after their program start (the first
statement in any program, `learner_programs.first_seen_at`) minus its mean over the window
before: before [start - W, start), after (start, start + W], W = var roi_kpi_window_days.
Learners count in the quarter of their start, with the learner-level KPIs observed in both
windows (team-level KPIs are shared by people in either cohort and left out). did = the cohort's
mean change - the baseline cohort's mean change in the same quarter, with a seeded percentile
bootstrap interval resampling learners within each group (skillstream.stats).
"""

import pyarrow as pa

from skillstream import stats

COLUMNS = {
    "kpi": pa.string(),
    "quarter": pa.string(),
    "cohort": pa.string(),
    "baseline_cohort": pa.string(),
    "learners": pa.int64(),
    "baseline_learners": pa.int64(),
    "change": pa.float64(),
    "baseline_change": pa.float64(),
    "did": pa.float64(),
    "ci_low": pa.float64(),
    "ci_high": pa.float64(),
}

CHANGES = """
with starts as (
    select learner_id, any_value(cohort) as cohort, min(first_seen_at)::date as started_on
    from programs group by learner_id
),
means as (
    select
        o.kpi_name as kpi, s.cohort, s.learner_id,
        year(s.started_on)::varchar || 'Q' || quarter(s.started_on)::varchar as quarter,
        avg(o.kpi_value) filter (
            where o.observed_on >= s.started_on - {window} and o.observed_on < s.started_on
        ) as before,
        avg(o.kpi_value) filter (
            where o.observed_on > s.started_on and o.observed_on <= s.started_on + {window}
        ) as after
    from starts s join observations o on o.learner_id = s.learner_id
    group by all
)
select kpi, quarter, cohort, list(after - before order by learner_id) as changes
from means where before is not null and after is not null
group by all order by all
"""


def did_rows(changes, comparison):
    """changes: {(kpi, quarter, cohort): [change, ...]} -> kpi_effects rows."""
    baseline = comparison.baseline
    rows = []
    for (kpi, quarter, cohort), values in sorted(changes.items()):
        if cohort == baseline:
            continue
        base = changes.get((kpi, quarter, baseline), [])
        row = dict(kpi=kpi, quarter=quarter, cohort=cohort, baseline_cohort=baseline,
                   learners=len(values), baseline_learners=len(base),
                   change=sum(values) / len(values),
                   baseline_change=sum(base) / len(base) if base else None,
                   did=None, ci_low=None, ci_high=None)
        if base:
            interval = stats.bootstrap_difference_in_differences(
                values, base, seed=stats.subject_seed(comparison.seed, "kpi", kpi, quarter, cohort),
                resamples=comparison.resamples,
            )
            row.update(did=interval.estimate, ci_low=interval.low, ci_high=interval.high)
        rows.append(row)
    return rows


def model(dbt, session):
    window = int(dbt.config.get("kpi_window_days"))
    comparison = stats.comparison_of(
        baseline=dbt.config.get("baseline_cohort"),
        seed=dbt.config.get("comparison_seed"),
        resamples=dbt.config.get("comparison_resamples"),
    )

    # CHANGES reads these two relations by their names (DuckDB's replacement scan)
    programs = dbt.ref("learner_programs")  # noqa: F841
    observations = dbt.ref("stg_business__kpi_observations").filter("learner_id is not null")  # noqa: F841
    found = session.sql(CHANGES.format(window=window)).fetchall()
    changes = {(kpi, quarter, cohort): list(values) for kpi, quarter, cohort, values in found}
    return pa.Table.from_pylist(did_rows(changes, comparison),
                                schema=pa.schema(COLUMNS))
