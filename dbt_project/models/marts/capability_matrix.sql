{#-
    Every team x every skill seen: the share of the team's learners who mastered the skill.
    A team's learners are its members who have at least one statement in a program or on a
    skill (docs/models.md, capability): the one denominator of the matrix and of its filtered
    view on the Capability page, which can only narrow learners it has seen. Roster members
    without a statement are not counted.
-#}
with

learner_programs as (
    select learner_id, team from {{ ref('int_learner_programs_summarised') }}
),

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

members as (
    select learner_id, team from learner_programs
    union
    select learner_id, team from learner_skills
),

teams as (
    select team, count(*) as members
    from members
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
