{#- Every team x every skill seen: the share of the team's members who mastered it. -#}
with

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

teams as (
    select team, count(*) as members
    from learners
    group by team
),

skills as (
    select distinct skill_id from learner_skills
),

mastered as (
    select team, skill_id, count(*) as mastered
    from learner_skills
    where mastered
    group by team, skill_id
),

final as (
    select
        teams.team,
        skills.skill_id,
        teams.members as learners,
        coalesce(mastered.mastered, 0) as mastered,
        coalesce(mastered.mastered, 0) / teams.members as mastery_rate,
        teams.members < {{ var('k_anonymity') }} as is_small_group
    from teams
    cross join skills
    left join mastered using (team, skill_id)
)

select * from final
