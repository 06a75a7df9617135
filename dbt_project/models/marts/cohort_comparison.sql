with

comparisons as (
    select * from {{ ref('int_cohort_comparisons_computed') }}
),

final as (
    select
        cohort,
        baseline_cohort,
        subject_id,
        metric,
        value,
        baseline_value,
        difference,
        ci_low,
        ci_high,
        n,
        baseline_n,
        -- either side under k learners: kept, flagged; dashboards do not show it
        least(n, baseline_n) < {{ var('k_anonymity') }} as is_small_group
    from comparisons
)

select * from final
