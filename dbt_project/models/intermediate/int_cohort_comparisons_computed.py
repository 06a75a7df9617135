"""Each cohort against the baseline cohort, all time (docs/design.md §4 cohort comparison).

completion_rate (per program) and retention_30d_rate (per skill): difference in proportions
with a 95 % Newcombe-Wilson interval; median_days_to_competency (per skill): difference in
medians with a 95 % seeded percentile bootstrap. Every pair of groups is kept; the mart flags
those with fewer than k learners on either side.
"""

import pyarrow as pa

from skillstream import stats

COLUMNS = {
    "cohort": pa.string(),
    "baseline_cohort": pa.string(),
    "subject_id": pa.string(),
    "metric": pa.string(),
    "value": pa.float64(),
    "baseline_value": pa.float64(),
    "difference": pa.float64(),
    "ci_low": pa.float64(),
    "ci_high": pa.float64(),
    "n": pa.int64(),
    "baseline_n": pa.int64(),
}


def proportion_rows(groups, metric, baseline):
    """groups: {(cohort, subject): (successes, n)} -> comparison rows."""
    rows = []
    for (cohort, subject), (successes, n) in sorted(groups.items()):
        if cohort == baseline:
            continue
        base_successes, base_n = groups.get((baseline, subject), (0, 0))
        row = dict(cohort=cohort, baseline_cohort=baseline, subject_id=subject, metric=metric,
                   value=successes / n if n else None,
                   baseline_value=base_successes / base_n if base_n else None,
                   difference=None, ci_low=None, ci_high=None, n=n, baseline_n=base_n)
        if n and base_n:
            interval = stats.newcombe_difference(successes, n, base_successes, base_n)
            row.update(difference=interval.estimate, ci_low=interval.low, ci_high=interval.high)
        rows.append(row)
    return rows


def median_rows(groups, comparison):
    """groups: {(cohort, subject): [days, ...]} -> comparison rows."""
    import numpy as np

    baseline = comparison.baseline
    rows = []
    for (cohort, subject), days in sorted(groups.items()):
        if cohort == baseline:
            continue
        base_days = groups.get((baseline, subject), [])
        row = dict(cohort=cohort, baseline_cohort=baseline, subject_id=subject,
                   metric="median_days_to_competency",
                   value=float(np.median(days)) if days else None,
                   baseline_value=float(np.median(base_days)) if base_days else None,
                   difference=None, ci_low=None, ci_high=None, n=len(days),
                   baseline_n=len(base_days))
        if days and base_days:
            interval = stats.bootstrap_median_difference(
                sorted(days), sorted(base_days),
                seed=stats.subject_seed(comparison.seed, cohort, subject),
                resamples=comparison.resamples,
            )
            row.update(difference=interval.estimate, ci_low=interval.low, ci_high=interval.high)
        rows.append(row)
    return rows


def model(dbt, session):
    comparison = stats.comparison_of(
        baseline=dbt.config.get("baseline_cohort"),
        seed=dbt.config.get("comparison_seed"),
        resamples=dbt.config.get("comparison_resamples"),
    )

    programs = dbt.ref("int_learner_programs_summarised")
    completion = {
        (cohort, program): (completed, enrolled)
        for cohort, program, completed, enrolled in programs.aggregate(
            "cohort, program_id, count(*) filter (where completed), count(*)", "cohort, program_id"
        ).fetchall()
    }

    skills = dbt.ref("int_learner_skills_summarised")
    retention = {
        (cohort, skill): (retained, checked)
        for cohort, skill, retained, checked in skills.filter("retention_30d_checked").aggregate(
            "cohort, skill_id, count(*) filter (where retention_30d_retained), count(*)",
            "cohort, skill_id",
        ).fetchall()
    }
    days = {}
    for cohort, skill, value in skills.filter("mastered").project(
        "cohort, skill_id, days_to_competency"
    ).fetchall():
        days.setdefault((cohort, skill), []).append(value)

    rows = [
        *proportion_rows(completion, "completion_rate", comparison.baseline),
        *median_rows(days, comparison),
        *proportion_rows(retention, "retention_30d_rate", comparison.baseline),
    ]
    return pa.Table.from_pylist(rows, schema=pa.schema(COLUMNS))
