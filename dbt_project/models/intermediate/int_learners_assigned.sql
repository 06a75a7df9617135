with

roster as (
    select * from {{ ref('stg_hr__roster') }}
),

latest_extensions as (
    -- the latest non-null value of each extension on a learner's statements
    select learner_id, cohort, org, team, role
    from {{ ref('int_learner_extensions_latest') }}
),

learners as (
    select learner_id from latest_extensions
    union
    select learner_id from roster
),

final as (
    select
        learners.learner_id,
        coalesce(roster.cohort, latest_extensions.cohort, 'unassigned') as cohort,
        coalesce(roster.org, latest_extensions.org, 'unassigned') as org,
        coalesce(roster.team, latest_extensions.team, 'unassigned') as team,
        coalesce(roster.role, latest_extensions.role, 'unassigned') as role,
        coalesce(roster.is_pilot, false) as is_pilot,
        roster.hourly_cost,
        roster.learner_id is not null as is_on_roster
    from learners
    left join roster using (learner_id)
    left join latest_extensions using (learner_id)
)

select * from final
