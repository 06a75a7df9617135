with

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

final as (
    select
        learner_id,
        skill_id,
        cohort,
        org,
        team,
        role,
        is_pilot,
        quarter,
        first_seen_at,
        mastered,
        mastered_at,
        days_to_competency,
        latest_score,
        retention_30d_checked,
        retention_30d_retained
    from learner_skills
)

select * from final
