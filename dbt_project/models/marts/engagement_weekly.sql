with

sessions as (
    select * from {{ ref('int_learner_sessions_sessionized') }}
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

final as (
    select
        -- a session counts in the ISO week (Monday, UTC) it started in
        cast(date_trunc('week', sessions.started_at) as date) as week_start,
        learners.cohort,
        learners.org,
        learners.team,
        learners.role,
        count(distinct sessions.learner_id) as active_learners,
        count(*) as sessions,
        sum(sessions.active_minutes) as active_minutes,
        cast(sum(sessions.practice_attempts) as bigint) as practice_attempts,
        cast(sum(sessions.hints_requested) as bigint) as hints_requested,
        cast(sum(sessions.feedback_given) as bigint) as feedback_given,
        count(distinct sessions.learner_id) < {{ var('k_anonymity') }} as is_small_group
    from sessions
    inner join learners using (learner_id)
    group by all
)

select * from final
