{#- Sessions by the ISO weekday (1 = Monday) and hour (UTC) they started in, per group. -#}
with

sessions as (
    select * from {{ ref('int_learner_sessions_sessionized') }}
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

final as (
    select
        cast(isodow(sessions.started_at) as integer) as weekday,
        cast(hour(sessions.started_at) as integer) as hour,
        learners.cohort,
        learners.org,
        learners.team,
        learners.role,
        count(distinct sessions.learner_id) as active_learners,
        count(*) as sessions,
        sum(sessions.active_minutes) as active_minutes,
        count(distinct sessions.learner_id) < {{ var('k_anonymity') }} as is_small_group
    from sessions
    inner join learners using (learner_id)
    group by all
)

select * from final
