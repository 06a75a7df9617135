with

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

final as (
    select
        cohort,
        skill_id,
        quarter,
        count(*) as learners,
        count(*) filter (where mastered) as learners_mastered,
        count(*) filter (where mastered) / count(*) as mastery_rate,
        -- over the learners who reached competency (nulls are ignored)
        quantile_cont(days_to_competency, 0.5) as median_days_to_competency,
        quantile_cont(days_to_competency, 0.75) as p75_days_to_competency,
        count(*) filter (where retention_30d_checked) as retention_30d_checked,
        count(*) filter (where retention_30d_retained)
            / nullif(count(*) filter (where retention_30d_checked), 0) as retention_30d_rate,
        count(*) < {{ var('k_anonymity') }} as is_small_group
    from learner_skills
    group by cohort, skill_id, quarter
)

select * from final
