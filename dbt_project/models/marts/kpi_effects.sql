with

effects as (
    select * from {{ ref('int_kpi_effects_computed') }}
),

final as (
    select
        kpi,
        quarter,
        cohort,
        baseline_cohort,
        learners,
        baseline_learners,
        change,
        baseline_change,
        did,
        ci_low,
        ci_high
    from effects
)

select * from final
