with

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

final as (
    select
        team,
        skill_id,
        count(*) as learners,
        count(*) filter (where mastered) as mastered,
        count(*) filter (where mastered) / count(*) as mastery_rate,
        count(*) < {{ var('k_anonymity') }} as is_small_group
    from learner_skills
    group by team, skill_id
)

select * from final
